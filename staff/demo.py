"""The demo accounts, shared by `seed_demo` and `demo_logins`."""

from dataclasses import dataclass

from . import roles

DEFAULT_PASSWORD = "clinic-demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str


DEMO_USERS = [
    DemoUser("admin", "Alex", "Morgan", roles.ADMINISTRATOR),
    DemoUser("manager", "Priya", "Shah", roles.MANAGER),
    DemoUser("reception", "Rosa", "Delgado", roles.RECEPTIONIST),
    DemoUser("doctor", "Amelia", "Hart", roles.DOCTOR),
    DemoUser("nurse", "Tom", "Becker", roles.NURSE),
]
