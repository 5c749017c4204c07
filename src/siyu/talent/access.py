"""Who may open which talent page: one rule per page, shared by the nav, the routes and the API."""

from __future__ import annotations

from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.i18n import N_

_ADMIN = PermissionRole.admin
_LEAD = PermissionRole.private_domain_lead
_MANAGER = PermissionRole.manager

# The role map is reference material: everyone on the team may read it; only admin and lead edit it.
ROLE_MAP_READ = access_for(None)
ROLE_MAP_EDIT = access_for(
    (_ADMIN, _LEAD), denied=N_("Only an administrator or the private-domain lead may edit roles.")
)
# Org design is the head's decision; analysts may read it.
ADVISOR = access_for((_ADMIN, _LEAD, PermissionRole.analyst))
# Gap analysis and assessments: managers see their own subtree (the Actor's data scope), the head everything.
GAPS = access_for((_ADMIN, _LEAD, _MANAGER, PermissionRole.analyst))
ASSESS = access_for((_ADMIN, _LEAD, _MANAGER))
COMPETENCY_EDIT = access_for(
    (_ADMIN, _LEAD), denied=N_("Only an administrator or the private-domain lead may edit competency models.")
)

# The tab bar of the talent pages: (key, label msgid, path, access).
TABS = (
    ("roles", N_("Role map"), "/talent/roles", ROLE_MAP_READ),
    ("advisor", N_("Org advisor"), "/talent/advisor", ADVISOR),
    ("gaps", N_("Gap analysis"), "/talent/gaps", GAPS),
    ("cycles", N_("Assessments"), "/talent/cycles", ASSESS),
    ("competencies", N_("Competency models"), "/talent/competencies", ASSESS),
)
