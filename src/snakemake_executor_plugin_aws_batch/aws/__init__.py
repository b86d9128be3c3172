"""The boto3 boundary: clients, the error contract, and the Batch, Logs and S3 operations."""
