"""The consultation test world (doctor, station, formulary, patient, visit) for prescription tests."""

from tests.consultation.conftest import world  # noqa: F401
