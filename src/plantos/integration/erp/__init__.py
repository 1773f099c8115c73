"""ERP integration: B2MML documents and CSV order files in and out."""
