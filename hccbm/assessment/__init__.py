"""The HCC-BM care pathway as explainable recommendations (``docs/assessment-rules.md``)."""
