"""Orders and products from the ERP into PlantOS: every inbound form of an order (B2MML
schedule, CSV file, the inbound interface table) becomes
:class:`~plantos.integration.erp.b2mml.model.ScheduledOrder` values and goes through
:func:`.orders.to_erp_order` and ``MomService.sync_orders``; the inbound products table
(:mod:`.products`) goes through the master-data check of ``MomService.put_master``."""
