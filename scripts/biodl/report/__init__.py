"""The report's pieces: evaluation figures (``figures``) and HTML tables (``html_tables``)."""
