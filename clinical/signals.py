from clinic.triggers import reinstall_after_migrate

from .guards import install_clinical_guards

reinstall_clinical_guards = reinstall_after_migrate("clinical", install_clinical_guards)
