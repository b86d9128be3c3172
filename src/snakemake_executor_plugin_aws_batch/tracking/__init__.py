"""What is kept per job and what its AWS Batch state means: the status round and outcomes."""
