from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from claims.importing import ArticleRecord, ImportProblem, check_size, parse_file, parse_text
from claims.models import (
    LabelValues,
    Membership,
    Project,
    Role,
    SourceChoice,
    SourceKind,
)

MAX_SOURCES = 12
NO_CONFIDENCE_KINDS = {"not_a_claim"}


class LabelForm(forms.Form):
    """One annotator's labels for one claim; choices come from the project's label set."""

    claim = forms.IntegerField(widget=forms.HiddenInput)
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
        super().__init__(*args, **kwargs)
        self.project = project
        labels = project.label_choices()
        self.fields["confidence"].choices = [(lb.value, lb.name) for lb in labels["confidence"]]
        self.fields["claim_kind"].choices = [(lb.value, lb.name) for lb in labels["claim_kind"]]
        self.fields["certainty"].choices = [(lb.value, lb.name) for lb in labels["certainty"]]
        self.label_sets = labels
        self.fields["claim_kind"].label = "Claim kind"
        self.fields["certainty"].label = "My certainty"

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
        help_texts = {"slug": "Used in addresses: /p/<slug>/. Letters, digits, - and _."}


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)

    def __init__(self, project: Project, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

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
