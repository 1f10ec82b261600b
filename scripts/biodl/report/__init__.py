"""The report's pieces: evaluation figures (``figures``), HTML tables (``html_tables``) and the
landing page's text from the real results and settings (``landing``)."""
