"""Every shortcut in the real window is unique where it can fire, and the window's
tabs and menus are the rows of main_window.TABS and main_window.MENUS.

A shortcut's scope is the whole window (menu actions, menu-bar mnemonics) or the
top-level tab its widget lives on (buttons, QShortcuts, label buddies, actions
added to a panel): a window-wide key clashes with any other use of it, a tab's
key only with keys of the same tab or the window.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QLabel, QMenu, QPushButton, QWidget

WINDOW = "window"



def _key(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.PortableText)


def scope_of(window, widget) -> object:
    """The index of the top-level tab ``widget`` lives on, or WINDOW."""
    w = widget
    while w is not None:
        i = window.tabs.indexOf(w)
        if i >= 0:
            return i
        w = w.parentWidget()
    return WINDOW


def window_shortcuts(window) -> list[tuple[str, object, str]]:
    """(key, scope, what) for every shortcut the window holds."""
    found = []
    for action in window.findChildren(QAction):
        owners = [o for o in action.associatedObjects() if isinstance(o, QWidget)]
        for seq in action.shortcuts():
            for owner in owners:  # an action in no widget cannot fire
                scope = WINDOW if isinstance(owner, QMenu) and scope_of(window, owner) == WINDOW \
                    else scope_of(window, owner)
                found.append((_key(seq), scope, f"action {action.text()!r}"))
    for menu_action in window.menuBar().actions():
        m = QKeySequence.mnemonic(menu_action.text())
        if not m.isEmpty():
            found.append((_key(m), WINDOW, f"menu {menu_action.text()!r}"))
    for sc in window.findChildren(QShortcut):
        for seq in sc.keys():  # noqa: SIM118 (QShortcut.keys, not a dict)
            found.append((_key(seq), scope_of(window, sc.parent()), f"QShortcut on {type(sc.parent()).__name__}"))
    for button in window.findChildren(QAbstractButton):
        if not button.shortcut().isEmpty():
            found.append((_key(button.shortcut()), scope_of(window, button), f"button {button.text()!r}"))
    for label in window.findChildren(QLabel):
        m = QKeySequence.mnemonic(label.text())
        if label.buddy() is not None and not m.isEmpty():
            found.append((_key(m), scope_of(window, label), f"label {label.text()!r}"))
    return found


def clashes(found) -> list[tuple]:
    out = []
    for i, (key, scope, what) in enumerate(found):
        for key2, scope2, what2 in found[i + 1:]:
            if key == key2 and (WINDOW in (scope, scope2) or scope == scope2):
                out.append((key, what, scope, what2, scope2))
    return out


def test_every_shortcut_in_the_window_is_unique(window):
    found = window_shortcuts(window)
    keys = {k for k, _, _ in found}
    # the enumeration sees what the window really has, of every kind
    assert {"Ctrl+Return", "Ctrl+Shift+Return", "Ctrl+O", "F11", "Ctrl+1", "Ctrl+6",
            "Ctrl+R", "Ctrl+Z", "Ctrl+G", "Alt+F", "Alt+H"} <= keys, keys
    assert clashes(found) == []


def test_a_planted_clash_is_found(window):
    complete = window.tabs.indexOf(window.complete)
    QPushButton("again", window.complete, shortcut="Ctrl+Return")  # the old Complete-button clash
    QPushButton("undo elsewhere", window.samples, shortcut="Ctrl+Z")  # Ctrl+Z is the canvas's, on another tab
    found = clashes(window_shortcuts(window))
    assert [(k, a, b) for k, a, _, b, _ in found] == [("Ctrl+Return", "action '&Start'", "button 'again'")]
    assert found[0][4] == complete


def test_complete_and_start_each_fire_from_their_keys_on_the_complete_tab(window, qtbot):
    window.tabs.setCurrentWidget(window.complete)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    started = []
    window.start_action.triggered.disconnect()  # count the shortcut; no training process here
    window.start_action.triggered.connect(lambda *_: started.append(1))
    with qtbot.waitSignal(window.complete.complete_button.clicked, timeout=5000):
        qtbot.keyClick(window.complete, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert started == []
    qtbot.keyClick(window.complete, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: started == [1], timeout=5000)  # an ambiguous key fires neither


def test_tabs_and_menus_are_the_declared_lists(window):
    from arstudio.gui.main_window import MENUS, SEPARATOR, TAB_ITEMS, TABS, Item, Submenu

    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [t.title for t in TABS]
    for i, tab in enumerate(TABS):
        assert window.tabs.widget(i) is getattr(window, tab.attr)
    bar = window.menuBar().actions()
    assert [a.text() for a in bar] == [title for title, _ in MENUS]  # Help last, as declared
    for action, (_, entries) in zip(bar, MENUS):
        texts = [a.text() if not a.isSeparator() else None for a in action.menu().actions()]
        want = []
        for e in entries:
            if e is SEPARATOR:
                want.append(None)
            elif e == TAB_ITEMS:
                want += [f"Tab: {t.title}" for t in TABS]
            elif isinstance(e, (Item, Submenu)):
                want.append(e.text)
        assert texts == want
    view = next(a.menu() for a in bar if a.text() == "&View")
    tab_actions = [a for a in view.actions() if a.text().startswith("Tab: ")]
    tab_actions[2].trigger()
    assert window.tabs.currentWidget() is window.complete
