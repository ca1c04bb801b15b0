"""Presentation: text tables, CSV/JSON/Parquet writers, the HTML report, plots and the inspect text."""
