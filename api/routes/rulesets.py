"""Rule sets: the versions, one version, publish, roll back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.models import ProblemBody, Published, PublishIn, RollbackIn, RulesetInfoOut, RulesetOut
from api.problems import Problem
from api.security import Caller, Context
from desk import rulesets

router = APIRouter(prefix="/api/rulesets", tags=["rule sets"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemBody},
    403: {"model": ProblemBody},
}


@router.get(
    "",
    response_model=list[RulesetInfoOut],
    summary="Every version, newest first",
    responses=_ERRORS,
)
def list_versions(who: Caller, ctx: Context) -> list[RulesetInfoOut]:
    return [RulesetInfoOut.model_validate(i) for i in rulesets.list_versions(ctx, who)]


@router.get(
    "/{version}",
    response_model=RulesetOut,
    summary="One version with its rules",
    responses={**_ERRORS, 404: {"model": ProblemBody}},
)
def get_version(version: int, who: Caller, ctx: Context) -> RulesetOut:
    found = rulesets.get_version(ctx, who, version)
    if found is None:
        raise Problem(404, f"rule set version {version} not found")
    info = RulesetInfoOut.model_validate(found.info)
    return RulesetOut(**info.model_dump(), body=found.body)


@router.post(
    "",
    response_model=Published,
    status_code=201,
    summary="Publish a rule set (rule owners): the detector uses it within a second",
    responses={
        **_ERRORS,
        409: {"model": ProblemBody},
        422: {"model": ProblemBody, "description": "a bad rule set"},
    },
)
def publish(body: PublishIn, who: Caller, ctx: Context) -> Published:
    try:
        version = rulesets.publish_json(ctx, who, body.ruleset, body.note)
    except rulesets.RuleSetError as exc:
        raise Problem(422, str(exc)) from None
    except rulesets.RulesetConflict as exc:
        raise Problem(409, str(exc)) from None
    return Published(version=version)


@router.post(
    "/{version}/rollback",
    response_model=Published,
    status_code=201,
    summary="Publish a copy of an earlier version",
    responses={**_ERRORS, 404: {"model": ProblemBody}, 409: {"model": ProblemBody}},
)
def rollback(version: int, body: RollbackIn, who: Caller, ctx: Context) -> Published:
    try:
        return Published(version=rulesets.rollback(ctx, who, version, body.note))
    except rulesets.RulesetNotFound as exc:
        raise Problem(404, str(exc)) from None
    except rulesets.RulesetConflict as exc:
        raise Problem(409, str(exc)) from None
