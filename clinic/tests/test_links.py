"""clinic/links.py: patients' links are tamper-proof, for one purpose, expiring and single-use."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone

from clinic import worker
from clinic.links import LinkError, link_is_used, make_link_token, read_link_token, use_link_token
from clinic.models import FormSubmission, UsedLink
from clinic.tests.concurrency import at_once

PURPOSE = "tests.confirm"


def token(subject=7, hours=1, purpose=PURPOSE):
    return make_link_token(purpose, subject, valid_until=timezone.now() + timedelta(hours=hours))


def code_of(call, *args):
    with pytest.raises(LinkError) as refused:
        call(*args)
    return refused.value.code


def test_a_token_gives_back_its_subject_and_each_is_different():
    first, second = token(), token()
    assert read_link_token(first, PURPOSE) == 7
    assert first != second  # a random nonce: two links to one thing are two links


@pytest.mark.parametrize(
    "forged",
    [
        lambda t: t[:-2] + ("aa" if not t.endswith("aa") else "bb"),  # signature changed
        lambda t: t.replace(t.split(":")[0], signing.b64_encode(b'{"s":8,"e":9999999999,"n":"x"}').decode()),
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: "Zoë:Łódź:ß",
        lambda t: "x" * 5000,
        lambda t: None,
        lambda t: 12345,
    ],
)
def test_a_changed_or_made_up_token_is_forged(forged):
    assert code_of(read_link_token, forged(token()), PURPOSE) == "forged"


def test_a_token_for_another_purpose_is_forged():
    assert code_of(read_link_token, token(purpose="tests.cancel"), PURPOSE) == "forged"


def test_a_payload_signed_right_but_of_the_wrong_shape_is_forged():
    for payload in ([1, 2], {"s": "7", "e": 1}, {"s": 7}, "7"):
        made = signing.dumps(payload, salt=f"clinic.links.{PURPOSE}")
        assert code_of(read_link_token, made, PURPOSE) == "forged"


def test_a_token_expires_at_its_time_not_a_second_later():
    until = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    made = make_link_token(PURPOSE, 7, valid_until=until)
    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        assert read_link_token(made, PURPOSE) == 7
    with time_machine.travel(until, tick=False):
        assert code_of(read_link_token, made, PURPOSE) == "expired"


@pytest.mark.django_db
def test_a_token_is_used_once():
    made = token()
    assert not link_is_used(made, PURPOSE)
    assert use_link_token(made, PURPOSE) == 7
    assert link_is_used(made, PURPOSE)
    assert code_of(use_link_token, made, PURPOSE) == "used"
    assert use_link_token(token(), PURPOSE) == 7  # another link to the same subject is its own


@pytest.mark.django_db
def test_a_use_rolled_back_with_its_transaction_leaves_the_token_unspent():
    made = token()
    with pytest.raises(RuntimeError), transaction.atomic():
        use_link_token(made, PURPOSE)
        raise RuntimeError("the act failed")
    assert not link_is_used(made, PURPOSE)
    assert use_link_token(made, PURPOSE) == 7


@pytest.mark.django_db
def test_an_expired_or_forged_token_is_not_spent():
    made = token()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert code_of(use_link_token, made, PURPOSE) == "expired"
    assert not UsedLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_uses_at_once_one_wins():
    made = token()

    def use(i):
        with transaction.atomic():
            return use_link_token(made, PURPOSE)

    outcomes = at_once(use, 4)
    assert [o for o in outcomes if o == 7] == [7]
    assert all(isinstance(o, LinkError) and o.code == "used" for o in outcomes if o != 7), outcomes
    assert UsedLink.objects.count() == 1


@pytest.mark.django_db
def test_a_used_link_is_forgotten_a_day_after_it_expires_and_stays_refused(settings):
    settings.FORM_TOKENS_KEPT_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        soon, later = token(subject=1, hours=2), token(subject=2, hours=24 * 10)
        use_link_token(soon, PURPOSE), use_link_token(later, PURPOSE)
        assert UsedLink.objects.get(expires_at__lt=start + timedelta(hours=3)).expires_at == (
            start + timedelta(hours=2)
        ).replace(microsecond=0)
        user = get_user_model().objects.create_user("links-test")
        old_form = FormSubmission.objects.create(token=uuid.uuid4(), user=user, path="/old/", result_url="/x/")

        clock.shift(timedelta(hours=2 + 23))  # a day after `soon` expired, less an hour: kept
        assert worker.forget_spent_tokens.call() == 0
        clock.shift(timedelta(hours=2))
        recent_form = FormSubmission.objects.create(token=uuid.uuid4(), user=user, path="/new/", result_url="/y/")
        assert worker.forget_spent_tokens.call() == 1
        assert code_of(use_link_token, soon, PURPOSE) == "expired"  # still refused, row or no row
        assert code_of(use_link_token, later, PURPOSE) == "used"  # its row is kept until it expires too

        clock.shift(timedelta(days=30))
        # The first form's token and the later link (expired on day 10); the second form's token is 29 days old.
        assert worker.forget_spent_tokens.call() == 2
        assert set(FormSubmission.objects.values_list("pk", flat=True)) == {recent_form.pk}
        assert not FormSubmission.objects.filter(pk=old_form.pk).exists()
        assert not UsedLink.objects.exists()
    assert settings.PERIODIC_TASKS["clinic.worker.forget_spent_tokens"] == 3600  # the beat runs it hourly
