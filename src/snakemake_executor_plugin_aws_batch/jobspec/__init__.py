"""One job's spec and its AWS Batch requests: resources fitted to a platform, names, container options, payloads."""
