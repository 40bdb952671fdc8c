"""Reading frames: what the portal sends is read as thoroughly as what it receives."""

from __future__ import annotations

import pytest
from ocpp.messages import Call, CallError, CallResult

from chargers.ocpp import frames

SENT = [
    Call("c1", "Reset", {"type": "Hard"}).to_json(),
    Call("c2", "Reset", {"type": "Sometimes"}).to_json(),  # expert mode: invalid on purpose
    CallResult("r1", {"currentTime": "2026-11-24T10:00:00.000Z", "interval": 300}).to_json(),
    CallError("e1", "FormationViolation", "bad", {"cause": "x"}).to_json(),
    frames.call_error_text("e2", "NotImplemented", "Foo is not an OCPP 1.6 action"),
]


@pytest.mark.parametrize("text", SENT)
def test_a_frame_the_portal_sent_reads_as_parse_reads_it(text: str) -> None:
    fast, full = frames.parse_sent(text), frames.parse(text)
    assert (fast.message_type, fast.unique_id, fast.action, fast.payload, fast.problem) == (
        full.message_type,
        full.unique_id,
        full.action,
        full.payload,
        full.problem,
    )


@pytest.mark.parametrize("text", ["not json", "{}", "[]", "[3]", '[9,"x"]'])
def test_anything_unexpected_goes_through_the_full_parse(text: str) -> None:
    fast, full = frames.parse_sent(text), frames.parse(text)
    assert (fast.message_type, fast.unique_id, fast.problem) == (
        full.message_type,
        full.unique_id,
        full.problem,
    )


def fields(parsed: frames.ParsedFrame) -> tuple[object, ...]:
    """Everything a ParsedFrame says except the library's message object."""
    return (
        parsed.message_type,
        parsed.unique_id,
        parsed.action,
        parsed.payload,
        parsed.problem,
        parsed.reply_error_code,
    )


def test_a_valid_call_keeps_the_librarys_message() -> None:
    parsed = frames.parse('[2,"42","Heartbeat",{}]')

    assert fields(parsed) == (2, "42", "Heartbeat", {}, None, None)
    assert isinstance(parsed.message, Call) and parsed.message.action == "Heartbeat"


def test_a_valid_callresult_and_callerror_are_read_with_their_payloads() -> None:
    result = frames.parse('[3,"7",{"status":"Accepted"}]')
    error = frames.parse('[4,"8","NotImplemented","no such action",{"a":1}]')

    assert fields(result) == (3, "7", None, {"status": "Accepted"}, None, None)
    assert isinstance(result.message, CallResult)
    assert fields(error) == (
        4,
        "8",
        None,
        {
            "errorCode": "NotImplemented",
            "errorDescription": "no such action",
            "errorDetails": {"a": 1},
        },
        None,
        None,
    )
    assert isinstance(error.message, CallError)


@pytest.mark.parametrize(
    ("length", "problem"),
    [(36, None), (37, "unique id is 37 characters, more than 36")],
)
def test_a_unique_id_may_have_36_characters_and_no_more(length: int, problem: str | None) -> None:
    unique_id = "u" * length

    parsed = frames.parse(f'[2,"{unique_id}","Heartbeat",{{}}]')

    assert fields(parsed) == (2, unique_id, "Heartbeat", {}, problem, None)
    assert parsed.message is not None  # still answered: the id is only too long


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", (None, None, None, None, None)),
        ('[2,"1","Heartbeat",NaN]', (None, None, None, None, None)),
        ('[2,"1","Heartbeat",{"v":1e999}]', (None, None, None, None, None)),
        ('{"a":1}', (None, None, None, {"a": 1}, "not a JSON array but dict")),
        ("[]", (None, None, None, [], "empty array")),
        ('[9,"x"]', (9, "x", None, [9, "x"], "unknown message type 9, ignored")),
        ('["2","x"]', (None, "x", None, ["2", "x"], "unknown message type '2', ignored")),
        ("[9]", (9, None, None, [9], "unknown message type 9, ignored")),
    ],
)
def test_what_cannot_be_answered_is_recorded_with_why(
    text: str, expected: tuple[object, ...]
) -> None:
    parsed = frames.parse(text)

    assert fields(parsed)[:4] == expected[:4]
    assert parsed.message is None and parsed.reply_error_code is None
    if expected[4] is None:
        assert parsed.problem is not None and parsed.problem.startswith("not valid JSON: ")
    else:
        assert parsed.problem == expected[4]


def test_an_unpaired_surrogate_escape_is_not_json_a_pair_is_a_character() -> None:
    """A lone ``\\ud800`` decodes to no Unicode character: no database stores it nor can a
    handler query with it (NousResearch/hermes-agent #101666: the same escape tore down
    another websocket server). A pair is the character it encodes."""
    lone = frames.parse('[2,"1","Authorize",{"idTag":"a\\ud800"}]')
    assert lone.message is None and lone.payload is None
    assert lone.problem == (
        "not valid JSON: \\ud800 is an unpaired UTF-16 surrogate, not a Unicode character"
    )
    assert frames.parse('[2,"\\uDFFF","Heartbeat",{}]').problem is not None
    pair = frames.parse('[2,"1","Authorize",{"idTag":"\\ud83d\\ude00"}]')
    assert pair.problem is None and pair.payload == {"idTag": "\U0001f600"}
    escaped_backslash = frames.parse('[2,"1","Authorize",{"idTag":"\\\\ud800"}]')
    assert escaped_backslash.problem is None and escaped_backslash.payload == {"idTag": "\\ud800"}


def test_a_member_name_twice_in_one_object_is_a_formation_violation() -> None:
    """Python's json keeps the last of two values of one name, other parsers the first:
    a StopTransaction with two transactionIds, or an answer with two statuses, says two
    things, and the evidence would show only one of them (RFC 8259 §4). A CALL is answered
    FormationViolation and not acted on; an answer keeps its unique id for correlation."""
    call = frames.parse('[2,"u1","Authorize",{"idTag":"CARD-1","idTag":"CARD-2"}]')
    assert call.message is None and call.reply_error_code == "FormationViolation"
    assert (call.unique_id, call.action) == ("u1", "Authorize")
    assert call.problem == (
        "member name(s) 'idTag' appear more than once in one JSON object; which value counts "
        "is undefined (RFC 8259 §4)"
    )
    answer = frames.parse('[3,"u2",{"status":"Accepted","status":"Rejected"}]')
    assert answer.message is None and answer.reply_error_code is None
    assert (answer.message_type, answer.unique_id) == (3, "u2")
    assert answer.problem is not None and "'status'" in answer.problem
    nested = frames.parse(
        '[2,"u3","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-29T15:28:00Z",'
        '"sampledValue":[{"value":"1","value":"2"}]}]}]'
    )
    assert nested.reply_error_code == "FormationViolation"
    same_name_apart = frames.parse(
        '[2,"u4","DataTransfer",{"vendorId":"X","data":"{\\"vendorId\\":1}"}]'
    )
    assert same_name_apart.problem is None and same_name_apart.message is not None


def test_nan_and_infinity_are_named_in_the_problem() -> None:
    assert frames.parse("[NaN]").problem == "not valid JSON: NaN is not a JSON value"
    assert frames.parse("[1e999]").problem == ("not valid JSON: 1e999 is out of range of a double")
    assert frames.parse("[1.5]").problem == "unknown message type 1.5, ignored"


def test_a_call_with_the_wrong_number_of_elements_is_answered_formation_violation() -> None:
    parsed = frames.parse('[2,"5","Heartbeat"]')

    assert fields(parsed) == (
        2,
        "5",
        "Heartbeat",
        [2, "5", "Heartbeat"],
        "message type 2 has 3 elements, 4 expected",
        "FormationViolation",
    )


def test_a_short_call_without_an_action_still_gets_its_unique_id_answered() -> None:
    parsed = frames.parse('[2,"5"]')

    assert fields(parsed) == (
        2,
        "5",
        None,
        [2, "5"],
        "message type 2 has 2 elements, 4 expected",
        "FormationViolation",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[3,"5"]', (3, "5", None, None, "message type 3 has 2 elements, 3 expected", None)),
        (
            '[4,"5","X"]',
            (4, "5", None, {"errorCode": "X"}, "message type 4 has 3 elements, 5 expected", None),
        ),
        ("[2,5]", (2, None, None, [2, 5], "message type 2 has 2 elements, 4 expected", None)),
    ],
)
def test_results_and_errors_of_the_wrong_size_are_not_answered(
    text: str, expected: tuple[object, ...]
) -> None:
    assert fields(frames.parse(text)) == expected


def test_a_unique_id_that_is_not_a_string_is_refused() -> None:
    parsed = frames.parse('[2,5,"Heartbeat",{}]')

    assert fields(parsed) == (2, None, "Heartbeat", None, "unique id 5 is not a string", None)
    assert parsed.message is None


def test_an_action_that_is_not_a_string_is_a_formation_violation() -> None:
    parsed = frames.parse('[2,"6",7,{}]')

    assert fields(parsed) == (2, "6", None, {}, "action 7 is not a string", "FormationViolation")
    assert parsed.message is None


def test_a_payload_that_is_not_an_object_is_a_formation_violation() -> None:
    parsed = frames.parse('[2,"6","Heartbeat",[]]')

    assert fields(parsed) == (
        2,
        "6",
        "Heartbeat",
        [],
        "payload is not a JSON object",
        "FormationViolation",
    )
    assert parsed.message is None


def test_parse_sent_reads_the_positions_of_each_type() -> None:
    assert fields(frames.parse_sent('[2,"a","Reset",{"type":"Hard"}]')) == (
        2,
        "a",
        "Reset",
        {"type": "Hard"},
        None,
        None,
    )
    assert fields(frames.parse_sent('[3,"b",{"x":1}]')) == (3, "b", None, {"x": 1}, None, None)
    assert fields(frames.parse_sent('[4,"c","E","d",{"k":2}]')) == (
        4,
        "c",
        None,
        {"errorCode": "E", "errorDescription": "d", "errorDetails": {"k": 2}},
        None,
        None,
    )
    # parse_sent keeps no library message: the portal built the frame itself.
    assert frames.parse_sent('[3,"b",{}]').message is None


def test_spell_1_6_renames_only_the_two_codes_16_spells_differently() -> None:
    assert frames.spell_1_6("FormatViolation") == "FormationViolation"
    assert frames.spell_1_6("OccurrenceConstraintViolation") == "OccurenceConstraintViolation"
    assert frames.spell_1_6("NotImplemented") == "NotImplemented"


def test_call_error_text_is_the_librarys_compact_serialisation() -> None:
    assert frames.call_error_text("e9", "NotSupported", "no") == '[4,"e9","NotSupported","no",{}]'
    assert frames.call_error_text("e9", "X", "y", {"cause": "z"}) == (
        '[4,"e9","X","y",{"cause":"z"}]'
    )


def test_the_actions_of_ocpp_16_are_known() -> None:
    assert "BootNotification" in frames.OCPP16_ACTIONS
    assert "RemoteStopTransaction" in frames.OCPP16_ACTIONS
    assert "NotifyEvent" not in frames.OCPP16_ACTIONS
    assert frames.MAX_UNIQUE_ID_LENGTH == 36
    assert (frames.CALL, frames.CALLRESULT, frames.CALLERROR) == (2, 3, 4)


ALL_1_6_ERROR_CODES = [
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
]


@pytest.mark.parametrize("code", ALL_1_6_ERROR_CODES)
def test_a_callerror_with_each_of_the_ten_1_6_codes_is_well_formed(code: str) -> None:
    """OCPP-J 1.6 §4.2.3 lists ten errorCodes; each of them is a well-formed CALLERROR."""
    parsed = frames.parse(f'[4,"e1","{code}","",{{}}]')

    assert fields(parsed) == (
        4,
        "e1",
        None,
        {"errorCode": code, "errorDescription": "", "errorDetails": {}},
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "payload", "problem"),
    [
        ('[3,"r1",{},"Heartbeat"]', {}, "message type 3 has 4 elements, 3 expected"),
        ('[3,"r1",[1]]', [1], "CALLRESULT payload is an array, not a JSON object"),
        ('[3,"r1",null]', None, "CALLRESULT payload is null, not a JSON object"),
        ('[3,"r1",true]', True, "CALLRESULT payload is a boolean, not a JSON object"),
        ('[3,"r1",1.5]', 1.5, "CALLRESULT payload is a number, not a JSON object"),
        ('[3,"r1","s"]', "s", "CALLRESULT payload is a string, not a JSON object"),
    ],
)
def test_a_malformed_callresult_keeps_its_unique_id_and_names_the_violation(
    text: str, payload: object, problem: str
) -> None:
    """Kept with the unique id, so the central system correlates it with its CALL; never
    answered (OCPP-J 1.6 §4.2.2)."""
    assert fields(frames.parse(text)) == (3, "r1", None, payload, problem, None)


@pytest.mark.parametrize(
    ("code", "description", "details", "problem"),
    [
        ("Bogus", '""', "{}", "errorCode 'Bogus' is not an OCPP 1.6 error code"),
        ("GenericError", "5", "{}", "errorDescription is a number, not a string"),
        ("GenericError", '""', "[]", "errorDetails is an array, not a JSON object"),
        (
            "X" * 38,
            '""',
            "{}",
            f"errorCode '{'X' * 38}' is not an OCPP 1.6 error code",
        ),
        (
            "X" * 39,
            "null",
            '"d"',
            f"errorCode '{'X' * 38}… is not an OCPP 1.6 error code; errorDescription is null, "
            "not a string; errorDetails is a string, not a JSON object",
        ),
    ],
)
def test_a_malformed_callerror_names_every_violation(
    code: str, description: str, details: str, problem: str
) -> None:
    """OCPP-J 1.6 §4.2.3: errorCode one of the 1.6 codes, errorDescription a string,
    errorDetails an object. A code is quoted up to 40 characters of its repr."""
    parsed = frames.parse(f'[4,"e1","{code}",{description},{details}]')

    assert parsed.message_type == 4 and parsed.unique_id == "e1"
    assert parsed.problem == problem
    assert parsed.reply_error_code is None


def test_an_out_of_range_number_is_quoted_up_to_40_characters() -> None:
    number = "1234567890" * 5 + "e999"

    assert frames.parse(f'[2,"c1","Heartbeat",{{"x":{number}}}]').problem == (
        f"not valid JSON: {number[:40]} is out of range of a double"
    )


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ('[3,"r1",{"a":1},"x","y"]', {"a": 1}),
        ('[3,"r1"]', None),
        ('[4,"e1","GenericError"]', {"errorCode": "GenericError"}),
        (
            '[4,"e1","GenericError","d",{},5]',
            {"errorCode": "GenericError", "errorDescription": "d", "errorDetails": {}},
        ),
    ],
)
def test_an_answer_of_the_wrong_size_keeps_what_it_carries_under_its_names(
    text: str, payload: object
) -> None:
    """A CALLRESULT keeps its payload (the third element), a CALLERROR the elements that are
    there as errorCode, errorDescription and errorDetails, so the judge reads it as the
    answer it tried to be."""
    parsed = frames.parse(text)

    assert (parsed.unique_id, parsed.payload, parsed.reply_error_code) == (
        text.split('"')[1],
        payload,
        None,
    )


def test_an_errordescription_that_is_an_object_is_named_so() -> None:
    assert frames.parse('[4,"e1","GenericError",{},{}]').problem == (
        "errorDescription is an object, not a string"
    )


def test_parse_sent_reads_a_call_by_position_without_the_librarys_validation() -> None:
    """The fast path: no library message object, the payload at position 3."""
    parsed = frames.parse_sent('[2,"c1","Reset",{"type":"Hard"}]')

    assert fields(parsed) == (2, "c1", "Reset", {"type": "Hard"}, None, None)
    assert parsed.message is None


@pytest.mark.parametrize(
    ("code", "quoted"), [("[1,2]", "[1, 2]"), ('{"a":1}', "{'a': 1}"), ("7", "7"), ("null", "None")]
)
def test_an_error_code_that_is_not_a_string_is_named_not_raised(code: str, quoted: str) -> None:
    """A charger's CALLERROR whose errorCode is an array or an object once raised TypeError
    (unhashable) in the consumer (found by tests/hostile/test_ocpp_fuzz.py in CI)."""
    parsed = frames.parse(f'[4,"e1",{code},"",{{}}]')

    assert parsed.message_type == 4
    assert parsed.problem == f"errorCode {quoted} is not an OCPP 1.6 error code"


@pytest.mark.parametrize(
    ("notes", "deviations"),
    [
        (None, None),
        ("", None),
        (frames.CENTRAL_SYSTEM_FAILURE, None),
        ("unknown action 'X'", "unknown action 'X'"),
        (f"a; {frames.CENTRAL_SYSTEM_FAILURE}; b", "a; b"),
        (f"{frames.CENTRAL_SYSTEM_FAILURE} and more", f"{frames.CENTRAL_SYSTEM_FAILURE} and more"),
    ],
)
def test_charger_deviations_leave_out_only_the_central_systems_own_failure(
    notes: str | None, deviations: str | None
) -> None:
    assert frames.charger_deviations(notes) == deviations
