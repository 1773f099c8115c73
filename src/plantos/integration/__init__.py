"""The IT side of PlantOS: ERP messages and their codecs, and the channels that carry
business facts and notifications to other systems."""
