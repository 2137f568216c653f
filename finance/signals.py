from clinic.triggers import reinstall_after_migrate

from .guards import install_finance_guards

reinstall_finance_guards = reinstall_after_migrate("finance", install_finance_guards)
