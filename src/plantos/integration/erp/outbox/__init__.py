"""The outbox dispatcher: every ERP connector drains the operations outbox with its own
delivery state, retries, order per order and dead letters (see docs/erp-integration.md)."""
