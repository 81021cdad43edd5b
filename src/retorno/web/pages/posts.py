"""One way to handle a form post: act, commit, then redirect with a message, or undo and show the form again.

Every page that changes something declares its handler with `@form_post(again)`. The handler does
the work through the domain actions and returns `Done` (where to go, what to tell the reader) or, for
the rare post that answers with a page of its own, a `Response`. The decorator then commits the
request's transaction and redirects (post/redirect/get) with the message as a flash. When an action
refuses (any `RetornoError`, raised by the handler or by the commit-time guards), it rolls back what
the handler wrote and renders `again`'s page as it now is, with the refusal in the reader's language
and the status of the refusal. The route declarations (`web.access`) and the CSRF check of every
page post (`common.router`) are untouched: they run before the handler, as for any page.

`again` names the handler's parameters it needs (`session`, `user`, `form`, path parameters...) and
may ask for the refusal itself as `exc`; it is called only after the rollback. When it cannot build
its page either (the case named in the address does not exist for this user), the refusal is shown
on its own error page.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from retorno.errors import RetornoError
from retorno.web.i18n import gettext_for
from retorno.web.pages.common import locale_of, redirect, render
from retorno.web.refusals import describe


@dataclass(frozen=True)
class Done:
    """A post that succeeded: the page to show next and the sentences (Spanish message ids) to flash there."""

    path: str
    message: str = ""
    values: Mapping[str, object] = field(default_factory=dict)
    more: tuple[str, ...] = ()

    def text(self, locale: str) -> str:
        _ = gettext_for(locale)
        return " ".join(t for t in (_(self.message, **self.values) if self.message else "",
                                    *(_(m) for m in self.more)) if t)


def done(path: str, message: str = "", **values: object) -> Done:
    """Go to `path` and say `message` (a Spanish message id whose `%(name)s` are filled from `values`)."""
    return Done(path, message, values)


@dataclass(frozen=True)
class Page:
    """The page a refused post shows again: its template and what it shows, read after the undo."""

    template: str
    context: dict[str, Any]


Handler = Callable[..., "Done | Response"]
Again = Callable[..., Page]


def _arguments(function: Callable[..., Any], available: Mapping[str, Any]) -> dict[str, Any]:
    wanted = inspect.signature(function).parameters
    missing = [name for name, p in wanted.items() if name not in available and p.default is inspect.Parameter.empty]
    if missing:
        raise TypeError(f"{function.__qualname__} needs {', '.join(missing)}, which the handler does not take")
    return {name: available[name] for name in wanted if name in available}


def form_post(again: Again) -> Callable[[Handler], Callable[..., Response]]:
    """Handle a page's form post: commit and redirect on `Done`, roll back and show `again` on a refusal."""

    def decorate(handler: Handler) -> Callable[..., Response]:
        parameters = inspect.signature(handler).parameters
        if "request" not in parameters or "session" not in parameters:
            raise TypeError(f"{handler.__qualname__} must take `request` and `session` to be a form post")
        again_parameters = set(inspect.signature(again).parameters) - {"exc"}
        if unknown := again_parameters - set(parameters) - {
                name for name, p in inspect.signature(again).parameters.items()
                if p.default is not inspect.Parameter.empty}:
            raise TypeError(f"{again.__qualname__} needs {', '.join(sorted(unknown))}, which "
                            f"{handler.__qualname__} does not take")

        @functools.wraps(handler)
        def handle(**arguments: Any) -> Response:
            request: Request = arguments["request"]
            session: Session = arguments["session"]
            try:
                outcome = handler(**arguments)
                session.commit()
            except RetornoError as exc:
                session.rollback()
                try:
                    page = again(**_arguments(again, {**arguments, "exc": exc}))
                except RetornoError:
                    # The form's page is gone too (what it names does not exist, or not for this user):
                    # the refusal then has a page of its own.
                    raise exc from None
                locale = locale_of(request)
                answer = render(request, page.template, status=exc.status, error=describe(request, exc, locale),
                                **page.context)
                answer.headers.update(exc.headers)
                return answer
            if isinstance(outcome, Done):
                return redirect(request, outcome.path, outcome.text(locale_of(request)) or None)
            return outcome

        # What the route table is checked against: every page post goes through here (tests/web/test_posts.py).
        handle.again = again  # type: ignore[attr-defined]
        return handle

    return decorate
