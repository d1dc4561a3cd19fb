// What opens over the canvas: a system's menu (long press or right click) and the list of
// shortcuts (`?`). Both close on Escape or a click elsewhere.

import { useEffect } from "react";

export interface MenuItem {
  label: string;
  run: () => void;
}

export interface MenuAt {
  title: string;
  x: number;
  y: number;
  items: MenuItem[];
}

export function SystemMenu({ menu, close }: { menu: MenuAt; close: () => void }) {
  useEffect(() => {
    const away = (event: Event) => {
      if (!(event.target instanceof Element) || !event.target.closest(".system-menu")) close();
    };
    document.addEventListener("pointerdown", away, true);
    return () => document.removeEventListener("pointerdown", away, true);
  }, [close]);
  return (
    <div className="system-menu" role="menu" aria-label={`${menu.title} menu`} style={{ left: menu.x, top: menu.y }}>
      <div className="menu-title">{menu.title}</div>
      {menu.items.map((item) => (
        <button key={item.label} type="button" role="menuitem" onClick={() => { close(); item.run(); }}>{item.label}</button>
      ))}
    </div>
  );
}

const SHORTCUTS: [string, string][] = [
  ["A", "add a system (next to the selected one)"],
  ["C", "connect the selected system to the next one tapped"],
  ["Shift+click", "select a second system"],
  ["Delete", "delete the selected systems"],
  ["Ctrl+Z / Ctrl+Shift+Z", "undo / redo your own edits"],
  ["Escape", "deselect, cancel connecting, close menus"],
  ["F", "fit the map to the screen"],
  ["+ / -", "zoom in / out (or the wheel, or pinch)"],
  ["drag the background", "pan"],
  ["long press / right click", "a system's menu"],
  ["?", "this list"],
];

export function HelpOverlay({ close }: { close: () => void }) {
  return (
    <div className="help-overlay" role="dialog" aria-label="Shortcuts" onClick={close}>
      <div className="help-box" onClick={(event) => event.stopPropagation()}>
        <h2>Shortcuts</h2>
        <dl>{SHORTCUTS.map(([keys, what]) => [<dt key={`k${keys}`}>{keys}</dt>, <dd key={`d${keys}`}>{what}</dd>])}</dl>
        <button type="button" onClick={close}>Close</button>
      </div>
    </div>
  );
}
