from __future__ import annotations

import copy
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from claims.importing import ArticleRecord, ImportProblem, check_size, parse_file, parse_text
from claims.models import (
    Annotation,
    Article,
    Assignment,
    Claim,
    Label,
    LabelValues,
    Membership,
    Project,
    Role,
    SourceChoice,
    SourceKind,
)

MAX_SOURCES = 12
NO_CONFIDENCE_KINDS = {"not_a_claim"}


class _SharedFields(dict):
    """A label form's fields, built once per form class and label set.

    Django deep-copies a form's fields for every instance, so that a form may
    change its own; label forms never do (``prepare_fields`` makes every
    change, once), and the copy was 0.35 ms of a label form's 0.37 ms
    (README, Benchmarks, item 35). Copying this dict copies the mapping and
    shares the fields.
    """

    def __deepcopy__(self, memo: dict[int, object]) -> dict[str, forms.Field]:
        return dict(self)


SHARED_FIELDS_KEPT = 256
_fields_by_label_set: dict[tuple[object, ...], _SharedFields] = {}


def _shared_fields(form_class: type[LabelForm], labels: dict[str, list[Label]]) -> _SharedFields:
    key = (form_class, *((lb.dimension, lb.value, lb.name) for d in labels.values() for lb in d))
    fields = _fields_by_label_set.get(key)
    if fields is None:
        fields = _SharedFields(copy.deepcopy(form_class.base_fields))
        form_class.prepare_fields(fields, labels)
        if len(_fields_by_label_set) >= SHARED_FIELDS_KEPT:
            _fields_by_label_set.pop(next(iter(_fields_by_label_set)), None)
        _fields_by_label_set[key] = fields
    return fields


class LabelForm(forms.Form):
    """One annotator's labels for one claim; choices come from the project's label set."""

    claim = forms.IntegerField(widget=forms.HiddenInput)
    # The claim's span as the page showed it ("start-end"): a label is not
    # saved on a claim a manager has split, merged or adjusted since.
    span = forms.CharField(widget=forms.HiddenInput, required=False)
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)
    token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    confidence = forms.ChoiceField(widget=forms.RadioSelect, required=False)
    claim_kind = forms.ChoiceField(widget=forms.RadioSelect)
    certainty = forms.ChoiceField(widget=forms.RadioSelect, required=False)
    attribution_cue = forms.CharField(
        max_length=500,
        required=False,
        label="Attribution cue",
        help_text="The words that attribute: “according to”, “reported”…",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, required=False
    )

    def __init__(self, project: Project, *args: Any, **kwargs: Any) -> None:
        labels = project.label_choices()
        # Shadows the class's fields with this label set's, which every form
        # of the set shares (see _SharedFields).
        self.base_fields = _shared_fields(type(self), labels)
        super().__init__(*args, **kwargs)
        self.project = project
        self.label_sets = labels

    @classmethod
    def prepare_fields(cls, fields: dict[str, forms.Field], labels: dict[str, list[Label]]) -> None:
        """Fit the fields to a label set: once per label set, not once per form."""
        for name in ("confidence", "claim_kind", "certainty"):
            fields[name].choices = [(lb.value, lb.name) for lb in labels[name]]
        fields["claim_kind"].label = "Claim kind"
        fields["certainty"].label = "My certainty"

    def choice_rows(self, name: str) -> list[dict[str, Any]]:
        """One dimension's radio buttons as plain rows, for the labelling page to draw.

        Iterating the bound field builds a widget per choice; the page showed
        with every claim drew them in 1.5 ms of its 3.6 ms of template time.
        """
        current = self.choice_value(name)
        # "key", the number key that picks it, as text: a number in a template
        # goes through localisation.
        return [
            {
                "value": value,
                "name": label,
                "id": f"id_{name}_{i}",
                "key": str(i + 1),
                "checked": value == current,
            }
            for i, (value, label) in enumerate(self.fields[name].choices)
        ]

    def choice_value(self, name: str) -> str:
        """The choice of ``name`` the form shows checked: posted, saved or suggested."""
        return str(self[name].value() or "")

    def clean_span(self) -> tuple[int, int] | None:
        damaged = "The form was damaged; reload the page and label the claim again."
        try:
            return _parse_span(self.cleaned_data.get("span", ""), damaged=damaged)
        except forms.ValidationError as error:
            # Above the form: the page shows no field for the span.
            self.add_error(None, error)
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("confidence") and cleaned.get("claim_kind") not in NO_CONFIDENCE_KINDS:
            self.add_error(
                "confidence",
                forms.ValidationError(
                    "Pick how firmly the text states this claim (number keys pick one).",
                    code="confidence_required",
                ),
            )
        cleaned["sources"] = self._clean_sources()
        return cleaned

    def _clean_sources(self) -> list[SourceChoice]:
        names = self.data.getlist("source") if hasattr(self.data, "getlist") else []
        kinds = self.data.getlist("source_kind") if hasattr(self.data, "getlist") else []
        wordings = self.data.getlist("source_wording") if hasattr(self.data, "getlist") else []
        choices: list[SourceChoice] = []
        seen: set[str] = set()
        for position, raw in enumerate(names):
            name = " ".join(raw.split())
            if not name or name.casefold() in seen:
                continue
            seen.add(name.casefold())
            kind = kinds[position] if position < len(kinds) else ""
            wording = wordings[position] if position < len(wordings) else ""
            if len(name) > 300:
                self.add_error(None, "A source name can be at most 300 characters long.")
                continue
            # Read raw, so the NUL check CharField does must be made here (PostgreSQL refuses NUL).
            if "\x00" in name + wording:
                self.add_error(None, "A source name cannot contain a NUL character; retype it.")
                continue
            if kind and kind not in SourceKind.values:
                self.add_error(None, f"“{kind[:40]}” is not a source kind; pick one from the list.")
                continue
            choices.append(
                SourceChoice(name=name, kind=kind, wording=" ".join(wording.split())[:300])
            )
        if len(choices) > MAX_SOURCES:
            self.add_error(None, f"Give at most {MAX_SOURCES} sources for one claim.")
        return choices

    def label_values(self) -> LabelValues:
        data = self.cleaned_data
        return LabelValues(
            confidence=data.get("confidence") or "",
            claim_kind=data["claim_kind"],
            certainty=data.get("certainty") or "",
            attribution_cue=data.get("attribution_cue", "").strip(),
            note=data.get("note", "").strip(),
            sources=data["sources"],
        )


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "slug", "guidelines", "annotations_per_claim", "split_compound"]
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 6})}
        help_texts = {"slug": "Used in addresses: /p/this-slug/. Letters, digits, - and _."}


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)

    def __init__(
        self, project: Project, *args: Any, editor: AbstractBaseUser | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.editor = editor

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user, role = cleaned.get("username"), cleaned.get("role")
        if user is not None and self.editor is not None and user.pk == self.editor.pk:
            if role != Role.MANAGER:
                raise forms.ValidationError(
                    "You cannot take away your own manager role; ask another manager to.",
                    code="own_role",
                )
        return cleaned

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(
                "No account has this username; ask an administrator to create it first.",
                code="unknown_user",
            )
        return user

    def save(self) -> Membership:
        membership, _ = Membership.objects.update_or_create(
            project=self.project,
            user=self.cleaned_data["username"],
            defaults={"role": self.cleaned_data["role"]},
        )
        return membership


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class ImportForm(forms.Form):
    """Articles to import: uploaded files, or one article pasted as title and text."""

    files = MultipleFileField(
        required=False,
        # An empty file reaches parse_file, whose message names the file.
        allow_empty_file=True,
        label="Files",
        help_text=".txt or .md (first line is the title), .jsonl, .json or .csv "
        "(fields title, body, and optionally url, outlet, published).",
    )
    title = forms.CharField(max_length=500, required=False, label="Title")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), required=False, label="Text")
    url = forms.URLField(max_length=2000, required=False, label="URL", assume_scheme="https")
    outlet = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        batches: list[tuple[str, list[ArticleRecord]]] = []
        for upload in cleaned.get("files") or []:
            try:
                check_size(upload.name, upload.size, max_bytes=settings.IMPORT_MAX_BYTES)
                records = parse_file(
                    upload.name, upload.read(), max_bytes=settings.IMPORT_MAX_BYTES
                )
            except ImportProblem as problem:
                self.add_error("files", forms.ValidationError(str(problem), code="bad_file"))
                continue
            batches.append((upload.name, records))
        # Browsers send a textarea's line breaks as CRLF; the pasted text had LF.
        title, body = cleaned.get("title", ""), cleaned.get("body", "").replace("\r\n", "\n")
        if title or body.strip():
            if not title:
                self.add_error("title", "Give the pasted article a title.")
            elif not body.strip():
                self.add_error("body", "Paste the article's text.")
            else:
                try:
                    record = parse_text("pasted text", f"{title}\n{body}")
                except ImportProblem as problem:
                    self.add_error("body", str(problem))
                else:
                    record = ArticleRecord(
                        title=record.title,
                        body=body,
                        url=cleaned.get("url", ""),
                        outlet=cleaned.get("outlet", "").strip(),
                    )
                    batches.append(("pasted text", [record]))
        if not batches and not self.errors:
            raise forms.ValidationError(
                "Choose one or more files, or paste an article's title and text.", code="empty"
            )
        cleaned["batches"] = batches
        return cleaned


class FlagField(forms.Field):
    """An on/off switch given as text (``1``/``0``, ``true``/``false``, ``yes``/``no``),
    with a default when it is absent; anything else is an error, not silently off."""

    TRUE = {"1", "true", "yes", "on"}
    FALSE = {"0", "false", "no", "off"}

    def __init__(self, *, default: bool, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.default = default

    def to_python(self, value: Any) -> bool:
        if value is None or value == "":
            return self.default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(
            f"“{str(value)[:20]}” is not on or off; give 1 or 0.", code="invalid_flag"
        )


def _date_field() -> forms.DateField:
    return forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Give the date as YYYY-MM-DD, for example 2025-10-23."},
    )


class ExportFilterForm(forms.Form):
    """Which rows an export holds and how its CSV is written.

    The web export and ``export_annotations`` both read their parameters through
    this form, so the same filters give the same rows and the same bytes. Dates
    are whole days in the server's time zone, both ends included.
    """

    article = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Give the article's id, a whole number (the N of /articles/N/).",
            "min_value": "Give the article's id, a whole number (the N of /articles/N/).",
        },
    )
    annotator = forms.CharField(required=False, max_length=150)
    claim_kind = forms.CharField(required=False, max_length=40)
    created_from = _date_field()
    created_to = _date_field()
    updated_from = _date_field()
    updated_to = _date_field()
    with_gold = FlagField(default=False, help_text="Only claims that have a gold label.")
    bom = FlagField(default=False, help_text="Start the CSV with a byte-order mark for Excel.")
    neutralise = FlagField(
        default=True, help_text="Defuse cells a spreadsheet would run as a formula."
    )

    def __init__(self, project: Project, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_article(self) -> int | None:
        article = self.cleaned_data.get("article")
        if article is not None and not self.project.articles.filter(pk=article).exists():
            raise forms.ValidationError(
                f"This project has no article {article}; take the id from the article's "
                "address (/articles/N/).",
                code="unknown_article",
            )
        return article

    def clean_annotator(self) -> str:
        username = self.cleaned_data.get("annotator", "").strip()
        if not username:
            return ""
        known = Q(memberships__project=self.project) | Q(annotations__project=self.project)
        if not get_user_model().objects.filter(known, username=username).exists():
            raise forms.ValidationError(
                f"No one called “{username[:40]}” works in this project; give a member's username.",
                code="unknown_annotator",
            )
        return username

    def clean_claim_kind(self) -> str:
        kind = self.cleaned_data.get("claim_kind", "").strip()
        if not kind:
            return ""
        kinds = list(
            self.project.labels.filter(dimension=Label.Dimension.CLAIM_KIND).values_list(
                "value", flat=True
            )
        )
        if kind not in kinds:
            raise forms.ValidationError(
                f"“{kind[:40]}” is not a claim kind of this project; use one of "
                f"{', '.join(kinds)}.",
                code="unknown_claim_kind",
            )
        return kind

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for stamp in ("created", "updated"):
            start, end = cleaned.get(f"{stamp}_from"), cleaned.get(f"{stamp}_to")
            if start and end and start > end:
                self.add_error(
                    f"{stamp}_to",
                    forms.ValidationError(
                        f"{stamp}_to ({end}) is before {stamp}_from ({start}); swap them.",
                        code="empty_range",
                    ),
                )
        return cleaned

    def error_text(self, *, prefix: str = "") -> str:
        """Every error on one line each, as ``name: message`` (``--name`` for the command)."""
        lines = []
        for name, errors in self.errors.items():
            label = f"{prefix}{name.replace('_', '-') if prefix else name}"
            lines.extend(f"{label}: {message}" for message in errors)
        return "\n".join(lines)

    def _annotation_q(self) -> Q:
        data = self.cleaned_data
        q = Q()
        if data.get("annotator"):
            q &= Q(annotator__username=data["annotator"])
        if data.get("claim_kind"):
            q &= Q(claim_kind=data["claim_kind"])
        for stamp in ("created", "updated"):
            if start := data.get(f"{stamp}_from"):
                q &= Q(**{f"{stamp}_at__gte": _day_start(start)})
            if end := data.get(f"{stamp}_to"):
                q &= Q(**{f"{stamp}_at__lt": _day_start(end + timedelta(days=1))})
        return q

    def filter_annotations(self, annotations: QuerySet[Annotation]) -> QuerySet[Annotation]:
        """The annotations the filters select (one row each in the annotation export)."""
        annotations = annotations.filter(self._annotation_q())
        if self.cleaned_data.get("article"):
            annotations = annotations.filter(claim__article_id=self.cleaned_data["article"])
        if self.cleaned_data.get("with_gold"):
            annotations = annotations.filter(claim__gold__isnull=False)
        return annotations

    def filter_claims(self, claims: QuerySet[Any]) -> QuerySet[Any]:
        """The claims the filters select (one row each in the gold export).

        The annotator, claim kind and date filters keep the claims with at least
        one annotation that matches them all.
        """
        if self.cleaned_data.get("article"):
            claims = claims.filter(article_id=self.cleaned_data["article"])
        if self.cleaned_data.get("with_gold"):
            claims = claims.filter(gold__isnull=False)
        annotation_q = self._annotation_q()
        if annotation_q:
            claims = claims.filter(
                Exists(Annotation.objects.filter(annotation_q, claim=OuterRef("pk")))
            )
        return claims


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class GoldForm(LabelForm):
    """The reviewer's own gold label: the label form without the annotator's fields."""

    @classmethod
    def prepare_fields(cls, fields: dict[str, forms.Field], labels: dict[str, list[Label]]) -> None:
        super().prepare_fields(fields, labels)
        for name in ("revision", "token", "certainty"):
            del fields[name]
        fields["note"].help_text = "Why this label: what settled the disagreement."


class PickForm(forms.Form):
    """Take one annotator's label as the gold label."""

    annotation = forms.IntegerField(widget=forms.HiddenInput)
    # The claim's span as the page showed it, as on the gold form.
    span = forms.CharField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, required=False
    )

    def clean_span(self) -> tuple[int, int] | None:
        damaged = "The form was damaged; reload the page and take the label again."
        return _parse_span(self.cleaned_data.get("span", ""), damaged=damaged)


class AssignmentForm(forms.Form):
    """A manager gives an article to an annotator; the queue then hands them only such articles.

    The article is typed, not picked from a list of every article (10,000 of
    them made a 1 MB page): its exact title, or its number as the type-ahead
    shows it ("#12 Museum opens"), which decides when given.
    """

    article = forms.CharField(
        max_length=600,
        help_text="Type part of its title or its number, then pick it from the suggestions.",
        widget=forms.TextInput(
            attrs={
                "list": "article-options",
                "autocomplete": "off",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": "#article-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        ),
    )
    user = forms.ModelChoiceField(queryset=None, empty_label=None, label="Annotator")

    def __init__(self, project: Project, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        # Articles titled alike, offered again as suggestions when the title was ambiguous.
        self.matches: list[Article] = []
        suggestions_url = reverse("article_options", args=[project.slug])
        self.fields["article"].widget.attrs["hx-get"] = suggestions_url
        self.fields["user"].queryset = (
            get_user_model().objects.filter(memberships__project=project).order_by("username")
        )
        self.fields["user"].error_messages["invalid_choice"] = (
            "Pick a member of this project; add people on the Members page first."
        )

    def clean_article(self) -> Article:
        typed = self.cleaned_data["article"]
        articles = self.project.articles.only("title", "project").order_by("pk")
        number = article_number(typed)
        if number is not None and typed.startswith("#"):
            return self._numbered(articles, number)
        titled = list(articles.filter(title__iexact=typed)[:10])
        # "Museum opens" wins over "museum opens"; either alone is enough.
        self.matches = [article for article in titled if article.title == typed] or titled
        if len(self.matches) == 1:
            return self.matches[0]
        if self.matches:
            numbers = ", ".join(f"#{article.pk}" for article in self.matches)
            raise forms.ValidationError(
                f"Several articles are titled “{typed}” ({numbers}): "
                "pick one by its number from the suggestions.",
                code="ambiguous_article",
            )
        if number is not None:
            return self._numbered(articles, number)
        raise forms.ValidationError(
            f"No article of this project is titled “{typed}”: type part of its title "
            "and pick it from the suggestions.",
            code="unknown_article",
        )

    def _numbered(self, articles: QuerySet[Article], number: int) -> Article:
        article = articles.filter(pk=number).first()
        if article is None:
            raise forms.ValidationError(
                f"This project has no article #{number}: type part of its title "
                "and pick it from the suggestions.",
                code="unknown_article",
            )
        return article

    def save(self) -> tuple[Assignment, bool]:
        return Assignment.objects.get_or_create(
            article=self.cleaned_data["article"], user=self.cleaned_data["user"]
        )


def article_number(typed: str) -> int | None:
    """The article number of "#12 Museum opens", "#12" or "12"; None in any other text."""
    match = re.fullmatch(r"#([0-9]{1,18})(?:\s.*)?|([0-9]{1,18})", typed, flags=re.DOTALL)
    return int(match[1] or match[2]) if match else None


# --- A manager's edits of claim boundaries (the article page) ---------------------------


class ClaimEditForm(forms.Form):
    """What every claim edit sends: the claim's span as the page showed it.

    The model refuses the edit when the claim moved since, so an edit meant
    for one span never lands on another.
    """

    span = forms.CharField(widget=forms.HiddenInput, required=False)
    # Each claim's row holds one form of each kind: their ids must differ.
    action = "edit"

    def __init__(self, claim: Claim, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"claim-{claim.pk}-{self.action}-%s")
        kwargs["initial"] = {"span": f"{claim.start}-{claim.end}"} | kwargs.get("initial", {})
        super().__init__(*args, **kwargs)
        self.claim = claim

    def clean_span(self) -> tuple[int, int] | None:
        return _parse_span(self.cleaned_data.get("span", ""))


def _parse_span(
    raw: str, *, damaged: str = "The form was damaged; reload the article and try again."
) -> tuple[int, int] | None:
    start, dash, end = raw.strip().partition("-")
    if not raw.strip():
        return None
    # ASCII digits only, and few: int() refuses "²" and numbers of thousands of digits.
    if not (
        dash and all(part.isascii() and part.isdigit() and len(part) <= 18 for part in (start, end))
    ):
        raise forms.ValidationError(damaged, code="bad_span")
    return int(start), int(end)


class SplitClaimForm(ClaimEditForm):
    action = "split"
    words = forms.CharField(
        max_length=300,
        required=False,
        label="Split before the words",
        help_text="The words that start the second part, as the claim has them.",
    )
    position = forms.IntegerField(
        min_value=0,
        required=False,
        label="or at character",
        help_text="Counted from the claim's start (0 is its first character).",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        text = self.claim.text
        words = " ".join((cleaned.get("words") or "").split())
        position = cleaned.get("position")
        if words:
            pattern = r"\s+".join(re.escape(word) for word in words.split())
            found = [m.start() for m in re.finditer(pattern, text, flags=re.IGNORECASE)]
            if not found:
                self.add_error(
                    "words",
                    forms.ValidationError(
                        f"“{words}” does not occur in this claim; copy the words as they "
                        "appear in it.",
                        code="words_not_found",
                    ),
                )
                return cleaned
            if len(found) > 1:
                self.add_error(
                    "words",
                    forms.ValidationError(
                        f"“{words}” occurs {len(found)} times in this claim; type more words "
                        "so that only one place matches, or give the position.",
                        code="words_ambiguous",
                    ),
                )
                return cleaned
            position = found[0]
        elif position is None:
            if "position" not in self.errors:
                self.add_error(
                    None,
                    forms.ValidationError(
                        "Type the words that start the second part, or give a position.",
                        code="no_split_point",
                    ),
                )
            return cleaned
        if not 0 < position < len(text):
            self.add_error(
                "position",
                forms.ValidationError(
                    f"Give a position between 1 and {len(text) - 1}, so that both parts "
                    "keep some text.",
                    code="position_outside",
                ),
            )
            return cleaned
        cleaned["offset"] = self.claim.start + position
        return cleaned


class MergeClaimForm(ClaimEditForm):
    action = "merge"
    next_span = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(
        self, claim: Claim, following: Claim | None = None, *args: Any, **kwargs: Any
    ) -> None:
        if following is not None:
            kwargs["initial"] = {"next_span": f"{following.start}-{following.end}"}
        super().__init__(claim, *args, **kwargs)

    def clean_next_span(self) -> tuple[int, int] | None:
        return _parse_span(self.cleaned_data.get("next_span", ""))


class AdjustClaimForm(ClaimEditForm):
    action = "adjust"
    start = forms.IntegerField(min_value=0, help_text="Offset into the article body.")
    end = forms.IntegerField(min_value=1, help_text="Offset just after the claim's last character.")

    def __init__(self, claim: Claim, *args: Any, **kwargs: Any) -> None:
        kwargs["initial"] = {"start": claim.start, "end": claim.end}
        super().__init__(claim, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and start >= end:
            self.add_error(
                "end",
                forms.ValidationError("The end must come after the start.", code="end_before"),
            )
        return cleaned
