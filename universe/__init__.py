"""Static data: the EVE universe from CCP's static data export, lookups and routes."""
