"""The consumer shells: topics into CSVs exactly once, and the wait until they have caught up."""
