"""Demo data that needs the certification process: the seed report's own run."""
