"""REST answers about the org rather than its records: ``/limits`` and query column metadata."""

from __future__ import annotations

from typing import Any

from sf_emulator.http_types import ApiRequest, Reply, json_reply

#: Allocations an Enterprise Edition org reports besides DailyApiRequests (Max = Remaining here).
_FIXED_LIMITS = {
    "ActiveScratchOrgs": 0,
    "AnalyticsExternalDataSizeMB": 40960,
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentEinsteinDataInsightsStoryCreation": 5,
    "ConcurrentEinsteinDiscoveryStoryCreation": 2,
    "ConcurrentSyncReportRuns": 20,
    "DailyAnalyticsDataflowJobExecutions": 60,
    "DailyAnalyticsUploadedFilesSizeMB": 51200,
    "DailyAsyncApexExecutions": 250000,
    "DailyAsyncApexTests": 500,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyDurableGenericStreamingApiEvents": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyEinsteinDataInsightsStoryCreation": 1000,
    "DailyEinsteinDiscoveryPredictAPICalls": 50000,
    "DailyEinsteinDiscoveryPredictionsByCDC": 500000,
    "DailyEinsteinDiscoveryStoryCreation": 100,
    "DailyFunctionsApiCallLimit": 235000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyScratchOrgs": 0,
    "DailyStandardVolumePlatformEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 2000000,
    "DataStorageMB": 1024,
    "DurableStreamingApiConcurrentClients": 20,
    "FileStorageMB": 20480,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlyLongTermIdMapping": 100000,
    "HourlyManagedContentPublicRequests": 50000,
    "HourlyODataCallout": 10000,
    "HourlyPublishedPlatformEvents": 50000,
    "HourlyPublishedStandardVolumePlatformEvents": 1000,
    "HourlyShortTermIdMapping": 100000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 5000,
    "MonthlyEinsteinDiscoveryStoryCreation": 500,
    "MonthlyPlatformEventsUsageEntitlement": 300000,
    "Package2VersionCreates": 0,
    "Package2VersionCreatesWithoutValidation": 0,
    "PermissionSets": 1500,
    "PrivateConnectOutboundCalloutHourlyLimitMB": 0,
    "SingleEmail": 5000,
    "StreamingApiConcurrentClients": 20,
}


def limits(request: ApiRequest) -> Reply:
    """``GET /limits``: DailyApiRequests from the org's meter, the other allocations fixed."""
    usage = request.org.usage.snapshot()
    body: dict[str, Any] = {
        name: {"Max": maximum, "Remaining": maximum} for name, maximum in _FIXED_LIMITS.items()
    }
    body["DailyApiRequests"] = {"Max": usage["daily_limit"], "Remaining": usage["remaining"]}
    return json_reply(200, dict(sorted(body.items())))


_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "long": "Long",
    "double": "Double",
    "percent": "Double",
    "currency": "Decimal",
    "date": "Date",
    "datetime": "Datetime",
    "time": "Time",
}


def column_metadata(request: ApiRequest, soql: str) -> dict[str, Any]:
    """``/query?q=...&columns=true``: the selected columns' metadata, no records (what ``sf data
    query`` reads first to lay out its table)."""
    schema, columns = request.org.data.query_columns(soql)
    return {
        "columnMetadata": [
            {
                "aggregate": False,
                "apexType": _APEX_TYPES.get(column.type, "String"),
                "booleanType": column.type == "boolean",
                "columnName": column.name,
                "custom": column.custom,
                "displayName": column.name,
                "foreignKeyName": None,
                "insertable": column.createable,
                "joinColumns": [],
                "numberType": column.type in {"int", "long", "double", "percent", "currency"},
                "textType": column.is_text,
                "updatable": column.updateable,
            }
            for column in columns
        ],
        "entityName": schema.name,
        "groupBy": False,
        "idSelected": any(column.name == "Id" for column in columns),
        "keyPrefix": schema.key_prefix,
    }
