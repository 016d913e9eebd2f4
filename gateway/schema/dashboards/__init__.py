"""Internal dashboards: demande volumes, legacy systems' health."""
