"""The run record: jobs.tsv, summary.json and the timeline page."""
