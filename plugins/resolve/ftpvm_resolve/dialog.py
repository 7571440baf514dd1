"""The FTPVM Matte window (Fusion UIManager): reads choices into Settings, runs the job, shows progress.

The job runs on a worker thread so Cancel stays clickable; the worker only writes a small state
object and a UIManager timer copies it into the window (where no timer exists, it writes directly).
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional

from ftpvm_wire.schema import advertised

from . import colour, settings as settings_mod
from .errors import explain
from .settings import Settings, SettingsError

WINDOW_ID = "FTPVMMatte"
PLACE_LABELS = {"bin": "FTPVM bin only", "track": "Bin + track above the clip", "fusion": "Bin + Fusion comp"}
SOURCE_LABELS = {"auto": "Auto (clip's EXRs when possible)", "render": "Render the range", "media": "Clip's own EXRs"}
TRANSPORT_LABELS = {"auto": "Auto", "paths": "Files (server reads/writes)", "pixels": "Pixels over the wire"}
DETECTED = "Detected from the project"


def layout(ui: Any) -> Any:
    """The window's element tree."""
    def row(label: str, *items: Any) -> Any:
        return ui.HGroup({"Weight": 0}, [ui.Label({"Text": label, "Weight": 0, "MinimumSize": [120, 0]}), *items])

    return ui.VGroup({"Spacing": 6}, [
        row("Server", ui.LineEdit({"ID": "Server"}), ui.Button({"ID": "Check", "Text": "Check", "Weight": 0})),
        row("", ui.Label({"ID": "ServerStatus", "Text": "not checked"})),
        row("Token", ui.LineEdit({"ID": "Token", "EchoMode": "Password"})),
        row("Clip", ui.Label({"ID": "ClipInfo", "Text": ""})),
        row("Shot id", ui.LineEdit({"ID": "Shot", "PlaceholderText": "from the clip"})),
        row("Source colour", ui.ComboBox({"ID": "Colour"})),
        row("Keyframes", ui.TextEdit({"ID": "Keyframes", "PlaceholderText":
                                      "one per line: FRAME PATH,  FRAME mediapool:CLIP,  FRAME fusion:MASK  or  "
                                      "FRAME track:N"})),
        row("Mattes are", ui.ComboBox({"ID": "GuideKind"}), ui.Label({"Text": "roto band px", "Weight": 0}),
            ui.SpinBox({"ID": "Band"})),
        row("Range", ui.LineEdit({"ID": "First", "PlaceholderText": "clip start"}),
            ui.LineEdit({"ID": "Last", "PlaceholderText": "clip end"})),
        row("Outputs", ui.CheckBox({"ID": "PassAlpha", "Text": "alpha"}),
            ui.CheckBox({"ID": "PassForeground", "Text": "foreground"})),
        row("Put results in", ui.ComboBox({"ID": "Place"})),
        row("Frames from", ui.ComboBox({"ID": "Source"})),
        row("Transport", ui.ComboBox({"ID": "Transport"})),
        row("Output folder", ui.LineEdit({"ID": "Output", "PlaceholderText": settings_mod.default_output_root()})),
        row("", ui.Label({"ID": "Progress", "Text": "", "WordWrap": True})),
        ui.HGroup({"Weight": 0}, [ui.Button({"ID": "Run", "Text": "Run"}),
                                  ui.Button({"ID": "Cancel", "Text": "Cancel", "Enabled": False}),
                                  ui.Button({"ID": "Close", "Text": "Close"})]),
    ])


def _fill_combo(box: Any, labels: Any, current: str) -> None:
    box.Clear()
    labels = list(labels)
    for label in labels:
        box.AddItem(label)
    box.CurrentIndex = labels.index(current) if current in labels else 0


def _key_of(labels: Dict[str, str], text: str) -> str:
    return next((k for k, v in labels.items() if v == text), next(iter(labels)))


def fill(items: Dict[str, Any], s: Settings, clip_text: str = "", detected: str = "", schema: Any = None) -> None:
    """Show ``s`` in the window; what ``s`` leaves open shows ``schema``'s default (the server's, else the snapshot)."""
    schema = schema or advertised(None)
    items["Server"].Text = s.server
    items["Token"].Text = s.token
    items["ClipInfo"].Text = clip_text
    items["Shot"].Text = s.shot_id
    colour_labels = [f"{DETECTED}: {detected or '?'}"] + list(colour.labels())
    current = next((l for l, o in colour.CHOICES if o == s.colorspace), colour_labels[0])
    _fill_combo(items["Colour"], colour_labels, current)
    items["Keyframes"].PlainText = settings_mod.format_keyframes(s.keyframes)
    _fill_combo(items["GuideKind"], settings_mod.GUIDE_KINDS, s.keyframes[0].kind if s.keyframes else "trimap")
    items["Band"].Value = s.band if s.band is not None else int(round(schema.default_of("roto_band")))
    lo, hi = schema.range_of("roto_band")
    items["Band"].Minimum, items["Band"].Maximum = int(lo), int(hi)
    items["Band"].ToolTip = schema.help_of("roto_band")
    items["First"].Text = "" if s.first is None else str(s.first)
    items["Last"].Text = "" if s.last is None else str(s.last)
    items["PassAlpha"].Checked = "alpha" in s.passes
    items["PassForeground"].Checked = "foreground" in s.passes
    _fill_combo(items["Place"], PLACE_LABELS.values(), PLACE_LABELS[s.place])
    _fill_combo(items["Source"], SOURCE_LABELS.values(), SOURCE_LABELS[s.source])
    _fill_combo(items["Transport"], TRANSPORT_LABELS.values(), TRANSPORT_LABELS[s.transport])
    items["Output"].Text = s.output_root


def _frame(text: str, what: str) -> Optional[int]:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{what} frame {text!r} is not a whole number.") from None


def read(items: Dict[str, Any]) -> Settings:
    """The window's values as checked Settings (SettingsError says what is wrong)."""
    colour_text = items["Colour"].CurrentText
    kind = items["GuideKind"].CurrentText or "trimap"
    passes = tuple(p for p, box in (("alpha", "PassAlpha"), ("foreground", "PassForeground")) if items[box].Checked)
    return Settings(
        server=items["Server"].Text.strip(), token=items["Token"].Text.strip(), shot_id=items["Shot"].Text.strip(),
        colorspace="" if colour_text.startswith(DETECTED) else colour.by_label().get(colour_text, colour_text),
        keyframes=settings_mod.parse_keyframes(items["Keyframes"].PlainText, kind), band=int(items["Band"].Value),
        first=_frame(items["First"].Text, "First"), last=_frame(items["Last"].Text, "Last"), passes=passes,
        output_root=items["Output"].Text.strip(), place=_key_of(PLACE_LABELS, items["Place"].CurrentText),
        source=_key_of(SOURCE_LABELS, items["Source"].CurrentText),
        transport=_key_of(TRANSPORT_LABELS, items["Transport"].CurrentText)).checked()


class _State:
    """What the worker reports; read by the UI side."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.text = ""
        self.running = False
        self.changed = False

    def set(self, text: str, running: Optional[bool] = None) -> None:
        with self.lock:
            self.text, self.changed = text, True
            if running is not None:
                self.running = running


class MatteDialog:
    """The window and its handlers. ``run_job(settings, progress, cancel) -> summary`` does the work."""

    def __init__(self, ui: Any, dispatcher: Any, initial: Settings, run_job: Callable[..., str],
                 check_server: Callable[[Settings], str], clip_text: str = "", detected: str = "",
                 save: Callable[[Settings], Any] = settings_mod.save, schema: Any = None):
        self.ui, self.dispatcher, self.run_job, self.check_server, self.save = ui, dispatcher, run_job, check_server, save
        self.window = dispatcher.AddWindow({"ID": WINDOW_ID, "WindowTitle": "FTPVM Matte",
                                            "Geometry": [200, 120, 620, 640]}, layout(ui))
        self.items = self.window.GetItems()
        self.state = _State()
        self.cancel = threading.Event()
        self.worker: Optional[threading.Thread] = None
        fill(self.items, initial, clip_text, detected, schema)
        on = self.window.On
        on.Run.Clicked = self.on_run
        on.Cancel.Clicked = self.on_cancel
        on.Check.Clicked = self.on_check
        on.Close.Clicked = self.on_close
        getattr(on, WINDOW_ID).Close = self.on_close
        make_timer = getattr(ui, "Timer", None)
        self.timer = make_timer({"ID": "FTPVMTick", "Interval": 200}) if callable(make_timer) else None
        if self.timer is not None:
            self.dispatcher.On.FTPVMTick.Timeout = self.on_tick

    def show(self) -> None:
        self.window.Show()
        if self.timer is not None:
            self.timer.Start()
        self.dispatcher.RunLoop()
        self.window.Hide()

    # -- handlers ------------------------------------------------------------------------
    def on_check(self, ev: Any = None) -> None:
        try:
            self.items["ServerStatus"].Text = self.check_server(read_server(self.items))
        except Exception as exc:  # noqa: BLE001 - shown, never raised into Resolve
            self.items["ServerStatus"].Text = explain(exc, self.items["Server"].Text)

    def on_run(self, ev: Any = None) -> None:
        if self.worker is not None and self.worker.is_alive():
            return
        try:
            chosen = read(self.items)
        except Exception as exc:  # noqa: BLE001
            self.items["Progress"].Text = explain(exc)
            return
        try:
            self.save(chosen)
        except OSError:
            pass  # remembering settings is a convenience
        self.cancel = threading.Event()
        self.items["Run"].Enabled, self.items["Cancel"].Enabled = False, True
        self.state.set("Starting...", running=True)
        self._show_state()
        self.worker = threading.Thread(target=self._work, args=(chosen,), name="ftpvm-resolve-job", daemon=True)
        self.worker.start()

    def _work(self, chosen: Settings) -> None:
        try:
            text = self.run_job(chosen, self._progress, self.cancel)
        except Exception as exc:  # noqa: BLE001
            text = explain(exc, chosen.server)
        self.state.set(text, running=False)
        if self.timer is None:
            self._show_state()

    def _progress(self, stage: str, fraction: Optional[float], message: str) -> None:
        pct = f" {fraction * 100:.0f}%" if fraction is not None else ""
        self.state.set(f"{message}{pct}")
        if self.timer is None:
            self._show_state()

    def on_cancel(self, ev: Any = None) -> None:
        self.cancel.set()
        self.state.set("Cancelling...")
        self._show_state()

    def on_tick(self, ev: Any = None) -> None:
        self._show_state()

    def _show_state(self) -> None:
        with self.state.lock:
            text, running, self.state.changed = self.state.text, self.state.running, False
        self.items["Progress"].Text = text
        self.items["Run"].Enabled, self.items["Cancel"].Enabled = not running, running

    def on_close(self, ev: Any = None) -> None:
        self.cancel.set()
        if self.timer is not None:
            self.timer.Stop()
        self.dispatcher.ExitLoop()


def read_server(items: Dict[str, Any]) -> Settings:
    """Just the connection fields (for the Check button)."""
    return Settings(server=items["Server"].Text.strip(), token=items["Token"].Text.strip())
