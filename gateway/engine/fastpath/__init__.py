"""Speed shortcuts that rely on libraries' private names, all here, behind GATEWAY_FAST_PATHS."""
