"""Assemble /api/v1 from each domain's router."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.commerce.api import router as commerce_router
from siyu.compliance.api import router as compliance_review_router
from siyu.compliance.ingest_api import router as compliance_ingest_router
from siyu.customers.api import router as customers_router
from siyu.imports.api import router as imports_router
from siyu.insights.api import router as insights_router
from siyu.journeys.caps_api import router as caps_router
from siyu.journeys.content_pack_api import router as content_packs_router
from siyu.journeys.definition_api import router as journeys_router
from siyu.journeys.experiment_api import router as experiments_router
from siyu.journeys.inbox_api import router as tasks_router
from siyu.journeys.mass_send_api import router as mass_sends_router
from siyu.journeys.scripts_api import router as scripts_router
from siyu.org.api import router as org_router
from siyu.performance.api import router as metrics_router
from siyu.performance.kpi_api import router as kpi_router
from siyu.performance.leaderboard_api import router as leaderboard_router
from siyu.segments.api import router as segments_router
from siyu.talent.advisor_api import router as talent_advisor_router
from siyu.talent.competency_api import router as talent_competency_router
from siyu.talent.cycle_api import router as talent_cycle_router
from siyu.talent.gaps_api import router as talent_gaps_router
from siyu.talent.roles_api import router as talent_roles_router
from siyu.wecom.channel_code_api import router as wecom_channel_codes_router
from siyu.wecom.handover_api import router as wecom_handover_router
from siyu.wecom.send_api import router as wecom_send_router
from siyu.wecom.settings_api import router as wecom_settings_router
from siyu.wecom.sync_api import router as wecom_sync_router

api_router = APIRouter()
api_router.include_router(org_router)
api_router.include_router(customers_router)
api_router.include_router(commerce_router)
api_router.include_router(imports_router)
api_router.include_router(leaderboard_router)
api_router.include_router(metrics_router)
api_router.include_router(kpi_router)
api_router.include_router(segments_router)
api_router.include_router(insights_router)
api_router.include_router(talent_roles_router)
api_router.include_router(talent_gaps_router)
api_router.include_router(talent_competency_router)
api_router.include_router(talent_cycle_router)
api_router.include_router(talent_advisor_router)
api_router.include_router(compliance_ingest_router)
api_router.include_router(compliance_review_router)
api_router.include_router(experiments_router)
api_router.include_router(caps_router)  # before mass_sends_router: /mass-sends/caps is not /mass-sends/{id}
api_router.include_router(mass_sends_router)
api_router.include_router(journeys_router)
api_router.include_router(scripts_router)
api_router.include_router(content_packs_router)
api_router.include_router(tasks_router)
api_router.include_router(wecom_settings_router)
api_router.include_router(wecom_channel_codes_router)
api_router.include_router(wecom_send_router)  # /wecom/mass-sends, /wecom/moments
api_router.include_router(wecom_handover_router)
api_router.include_router(wecom_sync_router)
