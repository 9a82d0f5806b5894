"""Views, one module per group of pages; access rules live in `access`."""
