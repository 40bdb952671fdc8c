"""Reports of a certification run: the PDF, the HTML page and the exports."""
