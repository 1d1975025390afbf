import factory
from django.contrib.auth import get_user_model

from core.models import ProviderProfile

TEST_PASSWORD = "correct-horse-battery-staple"


class ProviderProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderProfile
        django_get_or_create = ("siren",)

    legal_name = "MICRO INFO SERVICE"
    legal_form = "SARL"
    share_capital = "10 000 €"
    address_line1 = "Chemin des Vernèdes"
    postal_code = "83480"
    city = "Puget-sur-Argens"
    siren = "512345679"
    siret = "51234567900017"
    rcs = "RCS Fréjus 512 345 679"
    vat_number = "FR75512345679"
    iban = "FR7630006000011234567890189"
    bic = "AGRIFRPP"
    sepa_creditor_id = "FR12ZZZ123456"
    email = "contact@micro-info-service.fr"
    phone = "04 94 00 00 00"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.fr")
    email = factory.LazyAttribute(lambda o: o.username if "@" in o.username else f"{o.username}@example.fr")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffUserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
