// The size of a system box on the canvas: fixed, so React Flow never has to measure one, and
// layout, lines and "Fit map" know it before anything is drawn. A system's x/y in the
// document is the centre of its box.

export const NODE_W = 168;
export const NODE_H = 64;
