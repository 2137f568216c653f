from clinic.triggers import reinstall_after_migrate

from .guards import install_sqlite_guards

reinstall_sqlite_guards = reinstall_after_migrate("scheduling", install_sqlite_guards)
