import factory
from django.contrib.auth.models import Group

from staff.models import Doctor, Specialty, User, WorkingHours
from staff.roles import DOCTOR


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.example")
    password = factory.django.Password("clinic-demo-pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=role))


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ["name"]

    name = factory.Iterator(["General practice", "Cardiology", "Paediatrics", "Dermatology"])


class DoctorFactory(factory.django.DjangoModelFactory):
    """A doctor who works every day 08:00–18:00 unless told otherwise."""

    class Meta:
        model = Doctor
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, roles=[DOCTOR])
    specialty = factory.SubFactory(SpecialtyFactory)
    licence_number = factory.Sequence(lambda n: f"LIC-{n:06d}")
    consultation_minutes = 20

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        from datetime import time

        intervals = extracted if extracted is not None else [(d, time(8), time(18)) for d in range(7)]
        WorkingHours.objects.bulk_create(
            WorkingHours(doctor=self, weekday=d, start_time=a, end_time=b) for d, a, b in intervals
        )


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    doctor = factory.SubFactory(DoctorFactory, hours=[])
    weekday = 0
    start_time = factory.LazyFunction(lambda: __import__("datetime").time(9))
    end_time = factory.LazyFunction(lambda: __import__("datetime").time(17))


def two_factor_for(user, *, backup_codes=("aaaa2222", "bbbb3333")):
    """Turn two-factor sign-in on for `user` (an authenticator and backup codes); the authenticator."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    backup = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    for code in backup_codes:
        backup.token_set.create(token=code)
    return device


def code_for(device, *, steps_ahead=0):
    """The code the person's app shows now (or `steps_ahead` time steps later), computed from the key."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"
