"""A fake Fusion UIManager + UIDispatcher: element trees, items by ID with properties, events, a timer.

Modelled on how scripts use it: ``ui.VGroup(props, children)``, ``ui.LineEdit({"ID": ...})``,
``disp.AddWindow(props, root)``, ``win.GetItems()[ID].Text``, ``win.On.<ID>.Clicked = handler``,
``disp.RunLoop()/ExitLoop()``, ``ui.Timer({...})`` with ``disp.On.<ID>.Timeout``. Tests fire events.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

DEFAULTS = {"LineEdit": {"Text": ""}, "Label": {"Text": ""}, "TextEdit": {"PlainText": ""},
            "CheckBox": {"Checked": False}, "SpinBox": {"Value": 0}, "Button": {"Enabled": True},
            "ComboBox": {"CurrentIndex": -1}}


class Element:
    def __init__(self, kind: str, props: Dict[str, Any], children: Optional[List["Element"]] = None):
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "props", {"Enabled": True, **DEFAULTS.get(kind, {}), **props})
        object.__setattr__(self, "children", children or [])
        object.__setattr__(self, "entries", [])

    def __getattr__(self, name: str) -> Any:
        if name == "CurrentText":
            i = self.props.get("CurrentIndex", -1)
            return self.entries[i] if 0 <= i < len(self.entries) else ""
        if name in self.props:
            return self.props[name]
        raise AttributeError(f"{self.kind} has no property {name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "CurrentIndex" and not -1 <= value < max(len(self.entries), 1):
            raise ValueError(f"index {value} out of range")
        self.props[name] = value

    def AddItem(self, text: str) -> None:
        self.entries.append(text)
        if self.props["CurrentIndex"] < 0:
            self.props["CurrentIndex"] = 0

    def Clear(self) -> None:
        self.entries.clear()
        self.props["CurrentIndex"] = -1

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


class _Handlers:
    def __init__(self) -> None:
        object.__setattr__(self, "table", {})

    def __getattr__(self, element_id: str) -> Any:
        table = self.table

        class Slot:
            def __setattr__(self, event: str, fn: Any) -> None:
                table[(element_id, event)] = fn

        return Slot()


class Timer:
    def __init__(self, props: Dict[str, Any]):
        self.props, self.running = props, False

    def Start(self) -> None:
        self.running = True

    def Stop(self) -> None:
        self.running = False


class UIManager:
    def __init__(self, with_timer: bool = True):
        self.timers: List[Timer] = []
        if not with_timer:
            self.Timer = None  # type: ignore[assignment]

    def __getattr__(self, kind: str) -> Any:
        if kind.startswith("_"):
            raise AttributeError(kind)

        def make(props: Optional[Dict[str, Any]] = None, children: Optional[List[Element]] = None) -> Element:
            return Element(kind, dict(props or {}), list(children or []))

        return make

    def Timer(self, props: Dict[str, Any]) -> Timer:  # noqa: N802 - the UIManager's name
        timer = Timer(props)
        self.timers.append(timer)
        return timer


class Window:
    def __init__(self, props: Dict[str, Any], root: Element):
        self.props, self.root, self.On, self.visible = props, root, _Handlers(), False
        ids = [e.props["ID"] for e in root.walk() if "ID" in e.props]
        assert len(ids) == len(set(ids)), f"duplicate element IDs: {ids}"
        self.items = {e.props["ID"]: e for e in root.walk() if "ID" in e.props}

    def GetItems(self) -> Dict[str, Element]:
        return self.items

    def Show(self) -> None:
        self.visible = True

    def Hide(self) -> None:
        self.visible = False

    def fire(self, element_id: str, event: str = "Clicked") -> Any:
        return self.On.table[(element_id, event)]({"who": element_id})


class UIDispatcher:
    def __init__(self, ui: UIManager, script: Optional[Any] = None):
        self.ui, self.windows, self.On, self.looping = ui, [], _Handlers(), False
        self.script = script  # called by RunLoop with the dispatcher (stands in for the user)

    def AddWindow(self, props: Dict[str, Any], root: Element) -> Window:
        window = Window(props, root)
        self.windows.append(window)
        return window

    def RunLoop(self) -> None:
        self.looping = True
        if self.script is not None:
            self.script(self)

    def ExitLoop(self) -> None:
        self.looping = False

    def tick(self) -> None:
        for (element_id, event), fn in list(self.On.table.items()):
            if event == "Timeout":
                fn({"who": element_id})


class Fusion:
    """The ``fusion`` global. Free Resolve 19.1+ has no UI scripting: pass ``ui=None`` (``fusion.UIManager`` is
    None there)."""

    def __init__(self, ui: Optional[UIManager]):
        self.UIManager = ui


class BMD:
    """The ``bmd`` global: ``bmd.UIDispatcher(ui)``."""

    def __init__(self, script: Optional[Any] = None):
        self.script, self.dispatchers = script, []

    def UIDispatcher(self, ui: UIManager) -> UIDispatcher:  # noqa: N802
        d = UIDispatcher(ui, self.script)
        self.dispatchers.append(d)
        return d
