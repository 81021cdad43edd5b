"""Imports every domain's tables so that `Base.metadata` is complete (for Alembic and tests)."""

from retorno.agencies.models import Agency, ApiToken, LoginAttempt, LoginSession, User
from retorno.audit.models import AuditCheckpoint, AuditHead, AuditRecord
from retorno.cases.models import Case, Household, PossibleDuplicate
from retorno.db import Base
from retorno.documents.models import EmergencyDocumentCounter, TravelDocument
from retorno.flights.models import Alert, Flight, HouseholdSplit, LockedChangeApproval, Passenger
from retorno.reintegration.models import FollowUp, FollowUpResidue, IntakeProfile, MatchingRun, Opportunity, Placement
from retorno.screening.models import BestInterestsDetermination, Screening, ScreeningResolution
from retorno.verification.models import VerificationDecision, VerificationRequest

__all__ = [
    "Agency", "Alert", "ApiToken", "AuditCheckpoint", "AuditHead", "AuditRecord", "Base",
    "BestInterestsDetermination", "Case",
    "EmergencyDocumentCounter", "Flight", "FollowUp", "FollowUpResidue", "Household", "HouseholdSplit", "IntakeProfile",
    "LockedChangeApproval", "LoginAttempt", "LoginSession", "MatchingRun", "Opportunity", "Passenger", "Placement",
    "PossibleDuplicate", "Screening", "ScreeningResolution", "TravelDocument", "User", "VerificationDecision",
    "VerificationRequest",
]
