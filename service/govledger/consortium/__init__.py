"""The consortium of member departments: codes, roles and governance proposals."""
