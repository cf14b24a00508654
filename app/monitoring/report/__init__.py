"""`monitoring report`: one self-contained HTML page of a run's team CSVs (report.html beside them).

team_csv.py reads the files, series.py prepares what the page shows (pure: no files, no plotting),
figures.py draws it with matplotlib, page.py lays out the HTML, build.py ties them together.
"""
