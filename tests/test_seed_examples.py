"""Every example in the published API reference (``../shared/seeds/``, the truth for the v1 API)
validates against the v1 document, verbatim: a client generated from our spec accepts what
production sends and sends what production documents.

The examples are embedded below exactly as the two seed pages show them, in page order (the
reference page, then the overview page's health answer). The one seed example that is not JSON —
the overview page's error envelope with ``"details": {...}`` — is embedded with ``{}`` for the
elided details. Fields a seed response leaves out are optional in that response's schema; the
sandbox still returns them (``tests/test_undeclared_fields.py`` and the contract client check
what it sends).
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator

from sandbox.base.spec import load_spec, operations, resolve, v1_document
from tests.support import auth
from tests.test_spec import FORMATS

DOCUMENT = v1_document(load_spec().document)
BY_ID = {operation.id: operation for operation in operations(DOCUMENT)}

SEED_EXAMPLES: list[tuple[str, Any]] = [
    (
        "get_health 200 (reference page, curl)",
        {
            "status": "ok",
            "version": "v1",
            "tenant_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "environment": "live",
            "scopes": ["read", "write"],
            "timestamp": "2026-04-27T19:22:01.118Z",
        },
    ),
    (
        "get_health 200 (reference page)",
        {
            "status": "ok",
            "version": "v1",
            "tenant_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "environment": "live",
            "scopes": ["read", "write"],
            "timestamp": "2026-04-27T19:22:01.118Z",
        },
    ),
    (
        "get_my_organization 200",
        {
            "id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "name": "PuroClean of North Metro Atlanta",
            "industry": "restoration",
            "parent_organization_id": None,
            "settings": {"timezone": "America/New_York", "default_locale": "en-US"},
            "created_at": "2025-09-12T14:23:01.418Z",
        },
    ),
    (
        "list_organizations 200",
        {
            "data": [
                {
                    "id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
                    "name": "PuroClean of North Metro Atlanta",
                    "industry": "restoration",
                    "grants": ["leads.read", "calls.read", "audit_log.read"],
                }
            ],
            "next_cursor": None,
        },
    ),
    (
        "create_organization request",
        {
            "name": "PuroClean of West Cobb",
            "industry": "restoration",
            "settings": {"timezone": "America/New_York"},
            "primary_admin_email": "owner@example.com",
        },
    ),
    (
        "create_organization 201",
        {
            "id": "5b2c7a31-4f98-4a7d-9e2b-c1f7e4a18b62",
            "name": "PuroClean of West Cobb",
            "parent_organization_id": "ab12c3d4-e5f6-7890-abcd-ef1234567890",
            "invite_url": "https://www.expertailabs.ai/invite/itok_a1f3...",
            "invite_expires_at": "2026-05-04T17:00:00.000Z",
            "created_at": "2026-04-27T17:00:12.314Z",
        },
    ),
    ("update_organization request", {"settings": {"timezone": "America/New_York", "default_locale": "en-US"}}),
    (
        "update_organization 200",
        {
            "id": "5b2c7a31-4f98-4a7d-9e2b-c1f7e4a18b62",
            "settings": {"timezone": "America/New_York", "default_locale": "en-US"},
            "updated_at": "2026-04-27T17:02:55.901Z",
        },
    ),
    (
        "create_grant request",
        {
            "parent_organization_id": "ab12c3d4-e5f6-7890-abcd-ef1234567890",
            "scopes": ["leads.read", "calls.read", "audit_log.read"],
            "expires_at": "2027-04-27T00:00:00.000Z",
        },
    ),
    (
        "create_grant 201",
        {
            "grant_id": "f4e9c2a8-7d31-4b6f-9c83-21e5d4a07b14",
            "parent_organization_id": "ab12c3d4-e5f6-7890-abcd-ef1234567890",
            "scopes": ["leads.read", "calls.read", "audit_log.read"],
            "created_at": "2026-04-27T17:09:33.001Z",
            "expires_at": "2027-04-27T00:00:00.000Z",
        },
    ),
    (
        "list_leads 200",
        {
            "data": [
                {
                    "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
                    "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
                    "name": "Sarah Mitchell",
                    "company": None,
                    "email": "sarah.mitchell@example.com",
                    "source": "google_ads",
                    "lead_score": 87,
                    "pipeline_stage": "qualified",
                    "industry": None,
                    "company_size": None,
                    "created_at": "2026-04-27T13:22:05.114Z",
                    "updated_at": "2026-04-27T13:22:09.218Z",
                }
            ],
            "next_cursor": (
                "eyJjcmVhdGVkX2F0IjoiMjAyNi0wNC0yN1QxMzoyMjowNS4xMTRaIiwia"
                "WQiOiI5ZjFjOGEzMi00ZDY1LTRlMmItOGE5MS0zYzBlN2Q0YjJmMTgifQ"
            ),
        },
    ),
    (
        "get_lead 200",
        {
            "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
            "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "name": "Sarah Mitchell",
            "company": None,
            "email": "sarah.mitchell@example.com",
            "source": "google_ads",
            "lead_score": 87,
            "pipeline_stage": "qualified",
            "industry": "residential",
            "company_size": None,
            "pain_points": "Recurring basement moisture after spring rain",
            "timeline": "this_week",
            "budget_range": None,
            "ai_reasoning": "High urgency: water damage signal, recent storm event, in-radius",
            "qualification_completed_at": "2026-04-27T13:22:09.218Z",
            "created_at": "2026-04-27T13:22:05.114Z",
            "updated_at": "2026-04-27T13:22:09.218Z",
        },
    ),
    (
        "create_lead request",
        {
            "name": "Sarah Mitchell",
            "email": "sarah.mitchell@example.com",
            "source": "website",
            "industry": "residential",
            "pipeline_stage": "new",
        },
    ),
    (
        "create_lead 201",
        {
            "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
            "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "name": "Sarah Mitchell",
            "company": None,
            "email": "sarah.mitchell@example.com",
            "source": "website",
            "lead_score": 0,
            "pipeline_stage": "new",
            "industry": "residential",
            "company_size": None,
            "created_at": "2026-04-27T13:22:05.114Z",
            "updated_at": "2026-04-27T13:22:05.114Z",
        },
    ),
    ("update_lead request", {"pipeline_stage": "won", "lead_score": 92}),
    (
        "update_lead 200",
        {
            "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
            "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "name": "Sarah Mitchell",
            "company": None,
            "email": "sarah.mitchell@example.com",
            "source": "google_ads",
            "lead_score": 92,
            "pipeline_stage": "won",
            "updated_at": "2026-04-27T18:55:42.001Z",
        },
    ),
    (
        "score_lead 200",
        {
            "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
            "lead_score": 91,
            "ai_reasoning": "Recent storm event in service radius (+0.18); phone validated (+0.10); fast form "
            "completion (+0.08)",
            "scored_at": "2026-04-27T19:01:15.214Z",
        },
    ),
    (
        "push_lead_to_crm 200",
        {
            "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
            "crm_sync": {
                "vendor": "jobnimbus",
                "external_id": "jn_117422",
                "status": "ok",
                "last_synced_at": "2026-04-27T19:03:42.118Z",
            },
        },
    ),
    (
        "list_prospects 200",
        {
            "data": [
                {
                    "id": "1c4f7d28-3a90-4e2c-9b3a-8d5f1e0c7a32",
                    "company_name": "Sandy Springs Property Group",
                    "contact_name": "Daniel Park",
                    "contact_email": "dpark@example.com",
                    "vertical": "property_management",
                    "qualification_status": "qualified",
                    "outreach_status": "sequence_active",
                    "created_at": "2026-04-21T11:08:43.000Z",
                }
            ],
            "next_cursor": None,
        },
    ),
    ("qualify_prospect request", {"prospect_id": "1c4f7d28-3a90-4e2c-9b3a-8d5f1e0c7a32"}),
    (
        "qualify_prospect 200",
        {
            "prospect_id": "1c4f7d28-3a90-4e2c-9b3a-8d5f1e0c7a32",
            "qualified": True,
            "fit_score": 82,
            "rationale": [
                "Manages 28 multifamily buildings inside service radius",
                "No incumbent restoration vendor on record (last 24 months)",
                "Recent water-loss incident reported in news 2026-03",
            ],
            "qualified_at": "2026-04-27T19:08:01.901Z",
        },
    ),
    (
        "list_content 200",
        {
            "data": [
                {
                    "id": "ctnt_3p9w7m2q4r",
                    "type": "blog",
                    "title": "Water Damage Restoration in Alpharetta, What to Do in the First 24 Hours",
                    "status": "published",
                    "channel": "wordpress",
                    "url": "https://example.com/blog/water-damage-alpharetta-first-24-hours",
                    "word_count": 1842,
                    "target_keyword": "water damage alpharetta",
                    "published_at": "2026-04-22T15:00:00.000Z",
                }
            ],
            "next_cursor": None,
        },
    ),
    (
        "create_blog_draft request",
        {
            "target_keyword": "mold removal roswell",
            "service_area": {"city": "Roswell", "region": "GA", "postal_code": "30075"},
            "service_type": "mold_remediation",
            "word_count_target": 2000,
        },
    ),
    (
        "create_blog_draft 201",
        {
            "id": "ctnt_7k1m4n9z",
            "type": "blog",
            "status": "draft",
            "title": "Mold Removal in Roswell, GA, What Homeowners Need to Know",
            "estimated_read_time_min": 9,
            "word_count": 2014,
            "created_at": "2026-04-27T19:14:08.118Z",
        },
    ),
    (
        "create_video_script request",
        {"topic": "5 signs of hidden water damage in your basement", "format": "feature", "duration_seconds": 180},
    ),
    (
        "create_video_script 201",
        {
            "id": "ctnt_v8r3p2q9",
            "type": "video",
            "status": "draft",
            "scenes": [
                {
                    "scene": 1,
                    "voiceover": "Hidden water damage starts where you can't see it...",
                    "broll_suggestion": "basement wall close-up",
                }
            ],
            "cutdown_30s_id": "ctnt_v8r3p2q9_30s",
        },
    ),
    (
        "create_review_response request",
        {
            "platform": "google",
            "review_id": "g_review_z2x8c4v1",
            "rating": 5,
            "review_text": "PuroClean was at our house within 45 minutes after a pipe burst...",
            "tone": "warm-professional",
        },
    ),
    (
        "create_review_response 201",
        {
            "response_text": "Thank you, Sarah! We're glad we could be there fast and get the home dried out, the "
            "team appreciates the kind words.",
            "sentiment": "positive",
            "auto_publish_recommended": True,
        },
    ),
    ("publish_content request", {"channels": ["wordpress", "instagram", "facebook"], "scheduled_for": None}),
    (
        "publish_content 200",
        {
            "id": "ctnt_3p9w7m2q4r",
            "results": [
                {"channel": "wordpress", "status": "published", "url": "https://example.com/blog/..."},
                {"channel": "instagram", "status": "queued", "estimated_publish_at": "2026-04-27T20:00:00.000Z"},
            ],
        },
    ),
    (
        "list_sequences 200",
        {
            "data": [
                {
                    "id": "seq_n4q8p2w7",
                    "name": "Property-management cold outbound · Q2 2026",
                    "channel": "email",
                    "steps": 5,
                    "active": True,
                    "stats": {"enrolled": 184, "sent": 612, "opened": 271, "replied": 19, "opted_out": 4},
                }
            ],
            "next_cursor": None,
        },
    ),
    (
        "send_outreach request",
        {
            "channel": "sms",
            "to": "+17705550142",
            "body": "Hi Sarah, confirming our crew at 9am tomorrow. Reply HELP for help, STOP to cancel.",
            "lead_id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
        },
    ),
    (
        "send_outreach 202",
        {"message_id": "msg_2k4n8q", "status": "queued", "channel": "sms", "queued_at": "2026-04-27T19:30:14.001Z"},
    ),
    (
        "list_suppressions 200",
        {
            "data": [
                {
                    "id": "sup_t9q4n2",
                    "channel": "email",
                    "address": "old.contact@example.com",
                    "reason": "user_unsubscribe",
                    "source": "list-unsubscribe-header",
                    "added_at": "2026-04-22T08:14:11.000Z",
                }
            ],
            "next_cursor": None,
        },
    ),
    ("create_suppression request", {"channel": "sms", "address": "+17705559999", "reason": "manual_owner_request"}),
    (
        "create_suppression 201",
        {"id": "sup_n2m4q8", "channel": "sms", "address": "+17705559999", "added_at": "2026-04-27T19:38:08.901Z"},
    ),
    (
        "list_calls 200",
        {
            "data": [
                {
                    "id": "call_q4n8p2w7",
                    "tracking_number": "+17705550199",
                    "caller_number": "+14045550173",
                    "duration_seconds": 142,
                    "classification": "water",
                    "qualified": True,
                    "urgency": "high",
                    "dispatch_decision": "auto_dispatch",
                    "received_at": "2026-04-27T17:42:11.214Z",
                }
            ],
            "next_cursor": None,
        },
    ),
    (
        "get_call 200",
        {
            "id": "call_q4n8p2w7",
            "tracking_number": "+17705550199",
            "caller_number": "+14045550173",
            "duration_seconds": 142,
            "recording_url": "https://signed.expertailabs.ai/recordings/q4n8p2w7?exp=1745783100&sig=...",
            "transcript": "Caller: Hi, I have water coming through my basement ceiling, I think a pipe burst...",
            "classification": {"intent": "water", "confidence": 0.96, "urgency": "high", "qualified": True},
            "dispatch_decision": {
                "action": "auto_dispatch",
                "reason": "in_service_radius + qualified + business_hours",
                "sms_callback_sent": True,
                "job_created_in_jobnimbus": "jn_117422",
            },
            "received_at": "2026-04-27T17:42:11.214Z",
        },
    ),
    (
        "get_call_stats 200",
        {
            "window": "7d",
            "total_calls": 47,
            "qualified": 18,
            "junk_filtered": 12,
            "by_intent": {
                "water": 21,
                "fire": 4,
                "mold": 6,
                "biohazard": 1,
                "sales_pitch": 8,
                "wrong_number": 4,
                "other": 3,
            },
            "median_classification_seconds": 11,
        },
    ),
    (
        "list_claims 200",
        {
            "data": [
                {
                    "id": "clm_8w3p1m",
                    "job_external_ref": "jn_117422",
                    "loss_type": "water",
                    "status": "ready_for_review",
                    "scope_item_count": 14,
                    "photo_count": 38,
                    "created_at": "2026-04-27T18:09:11.000Z",
                }
            ],
            "next_cursor": None,
        },
    ),
    (
        "create_claim request",
        {
            "loss_type": "water",
            "source": {"vendor": "companycam", "project_id": "cc_proj_5482"},
            "job_external_ref": "jn_117422",
        },
    ),
    (
        "create_claim 202",
        {
            "id": "clm_8w3p1m",
            "status": "extracting",
            "estimated_ready_at": "2026-04-27T18:14:00.000Z",
            "created_at": "2026-04-27T18:09:11.000Z",
        },
    ),
    (
        "get_claim 200",
        {
            "id": "clm_8w3p1m",
            "loss_type": "water",
            "status": "ready_for_review",
            "rooms": [
                {
                    "name": "Basement",
                    "dimensions": {"length_ft": 24, "width_ft": 18, "height_ft": 8},
                    "scope_items": [
                        {
                            "code": "WTR DRY3",
                            "description": "Tear out wet drywall, cleanup, bag for disposal",
                            "qty": 312,
                            "unit": "SF",
                            "confidence": 0.94,
                        }
                    ],
                }
            ],
            "summary_pdf_url": "https://signed.expertailabs.ai/claims/clm_8w3p1m.pdf?exp=...",
            "summary_txt_url": "https://signed.expertailabs.ai/claims/clm_8w3p1m.txt?exp=...",
        },
    ),
    (
        "review_claim request",
        {
            "decisions": [
                {"scope_item_id": "scope_a1", "decision": "approve"},
                {"scope_item_id": "scope_a2", "decision": "edit", "qty": 410, "note": "Re-measured on site"},
                {"scope_item_id": "scope_a3", "decision": "reject", "reason": "Pre-existing damage, not from loss"},
            ]
        },
    ),
    (
        "review_claim 200",
        {"id": "clm_8w3p1m", "status": "reviewed", "decisions_recorded": 3, "reviewed_at": "2026-04-27T19:55:11.000Z"},
    ),
    (
        "list_audit_events 200",
        {
            "data": [
                {
                    "id": "a4b1c8d2-7e30-4f1a-9c83-21e5d4a07b14",
                    "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
                    "action": "lead.updated",
                    "source": "api",
                    "correlation_id": "corr_z3p7w2",
                    "payload": {
                        "lead_id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
                        "diff": {
                            "pipeline_stage": {"from": "qualified", "to": "won"},
                            "lead_score": {"from": 87, "to": 92},
                        },
                        "key_id": "k7e2c8a1-4d65-4e2b-8a91-3c0e7d4b2f18",
                    },
                    "created_at": "2026-04-27T18:55:42.001Z",
                }
            ],
            "next_cursor": (
                "eyJjcmVhdGVkX2F0IjoiMjAyNi0wNC0yN1QxODo1NTo0Mi4wMDFaIiwia"
                "WQiOiJhNGIxYzhkMi03ZTMwLTRmMWEtOWM4My0yMWU1ZDRhMDdiMTQifQ"
            ),
        },
    ),
    (
        "get_audit_event 200",
        {
            "id": "a4b1c8d2-7e30-4f1a-9c83-21e5d4a07b14",
            "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
            "action": "lead.updated",
            "source": "api",
            "correlation_id": "corr_z3p7w2",
            "payload": {
                "lead_id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
                "diff": {"pipeline_stage": {"from": "qualified", "to": "won"}, "lead_score": {"from": 87, "to": 92}},
                "key_id": "k7e2c8a1-4d65-4e2b-8a91-3c0e7d4b2f18",
            },
            "created_at": "2026-04-27T18:55:42.001Z",
        },
    ),
    (
        "list_webhooks 200",
        {
            "data": [
                {
                    "id": "f4e9c2a8-7d31-4b6f-9c83-21e5d4a07b14",
                    "url": "https://crm-bridge.example.com/webhook",
                    "events": ["call.qualified", "lead.created", "claim.scope.ready"],
                    "description": "Production CRM bridge",
                    "signing_secret_prefix": "whsec_a1b2c3",
                    "enabled": True,
                    "created_at": "2026-02-14T09:11:00.000Z",
                    "last_delivery_at": "2026-04-27T17:42:18.001Z",
                    "last_delivery_status": 200,
                }
            ]
        },
    ),
    (
        "get_webhook 200",
        {
            "id": "f4e9c2a8-7d31-4b6f-9c83-21e5d4a07b14",
            "url": "https://crm-bridge.example.com/webhook",
            "events": ["call.qualified", "lead.created", "claim.scope.ready"],
            "description": "Production CRM bridge",
            "signing_secret_prefix": "whsec_a1b2c3",
            "enabled": True,
            "created_at": "2026-02-14T09:11:00.000Z",
            "last_delivery_at": "2026-04-27T17:42:18.001Z",
            "last_delivery_status": 200,
        },
    ),
    (
        "create_webhook request",
        {
            "url": "https://crm-bridge.example.com/webhook",
            "events": ["call.qualified", "lead.created", "claim.scope.ready"],
            "description": "Production CRM bridge",
        },
    ),
    (
        "create_webhook 201",
        {
            "id": "f4e9c2a8-7d31-4b6f-9c83-21e5d4a07b14",
            "url": "https://crm-bridge.example.com/webhook",
            "events": ["call.qualified", "lead.created", "claim.scope.ready"],
            "description": "Production CRM bridge",
            "signing_secret_prefix": "whsec_a1b2c3",
            "enabled": True,
            "created_at": "2026-02-14T09:11:00.000Z",
            "signing_secret": "whsec_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
            "_warning": "Save this signing_secret now. It will not be shown again.",
        },
    ),
    ("delete_webhook 200", {"id": "f4e9c2a8-7d31-4b6f-9c83-21e5d4a07b14", "deleted": True}),
    (
        "rotate_webhook_secret 200",
        {
            "id": "f4e9c2a8-7d31-4b6f-9c83-21e5d4a07b14",
            "url": "https://crm-bridge.example.com/webhook",
            "signing_secret_prefix": "whsec_z9y8x7",
            "signing_secret": "whsec_z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4",
            "_warning": "Save this signing_secret now. It will not be shown again. The previous secret remains valid "
            "for 24 hours.",
        },
    ),
    (
        "list_webhook_deliveries 200",
        {
            "data": [
                {
                    "id": "whd_8w3p1m",
                    "event": "call.qualified",
                    "status": "delivered",
                    "response_status": 200,
                    "latency_ms": 142,
                    "attempt": 1,
                    "delivered_at": "2026-04-27T17:42:18.001Z",
                }
            ],
            "next_cursor": None,
        },
    ),
    (
        "get_health 200 (overview page)",
        {
            "status": "ok",
            "version": "v1",
            "tenant_id": "org_2k4n8q...",
            "rate_limit_remaining": 59,
            "timestamp": "2026-04-24T17:42:11.314Z",
        },
    ),
]
SEED_ERROR = {"error": {"code": "validation_error", "message": "Field 'email' is required", "details": {}}}


def schema_of(label: str) -> Any:
    """The schema an example is for: ``<operationId> request`` or ``<operationId> <status>``."""
    operation_id, where = label.split()[:2]
    operation = BY_ID[operation_id]
    if where == "request":
        body = resolve(DOCUMENT, operation.raw["requestBody"])
        return body["content"]["application/json"]["schema"]
    assert int(where) == operation.success_status, f"{label}: the spec answers {operation.success_status}"
    return resolve(DOCUMENT, operation.responses[where])["content"]["application/json"]["schema"]


def check(example: Any, schema: Any) -> None:
    rooted = {**schema, "components": DOCUMENT["components"]}
    OAS31Validator(rooted, format_checker=FORMATS).validate(example)


@pytest.mark.parametrize(("label", "example"), SEED_EXAMPLES, ids=[label for label, _ in SEED_EXAMPLES])
def test_seed_example_validates(label: str, example: Any) -> None:
    check(example, schema_of(label))


def test_the_seed_error_envelope_validates() -> None:
    check(SEED_ERROR, {"$ref": "#/components/schemas/Error"})


def test_every_seed_operation_is_covered() -> None:
    """The reference page has an example for every v1 operation except the CSV export."""
    covered = {label.split()[0] for label, _ in SEED_EXAMPLES}
    assert set(BY_ID) - covered == {"export_audit_log_csv"}


def test_the_sandbox_still_sends_what_the_seeds_made_optional(client, keys, sandbox) -> None:
    headers = auth(keys["admin"])
    health = client.get("/api/v1/health", headers=headers).get_json()
    assert {"tenant_id", "environment", "scopes", "rate_limit_remaining"} <= set(health)
    assert health["tenant_id"] == keys["org_id"]  # a UUID, though the schema calls it opaque

    detail = set(DOCUMENT["components"]["schemas"]["LeadDetail"]["properties"])
    created = client.post("/api/v1/leads", headers=headers, json={"email": "dana@example.com"}).get_json()
    assert set(created) == detail
    updated = client.patch(f"/api/v1/leads/{created['id']}", headers=headers, json={"lead_score": 40}).get_json()
    assert set(updated) == detail

    claim = next(c for c in sandbox.store.scan("claim", keys["org_id"]) if c["status"] != "extracting")
    rooms = client.get(f"/api/v1/claims/{claim['id']}", headers=headers).get_json()["rooms"]
    assert all(item["id"].startswith("scope_") for room in rooms for item in room["scope_items"])

    hook = {"url": "http://127.0.0.1:9/hook", "events": ["lead.created"]}
    client.post("/api/v1/webhooks", headers=headers, json=hook)
    assert client.get("/api/v1/webhooks", headers=headers).get_json()["next_cursor"] is None
