/** The client functions of report-client.ts, in the order the page defines them (read by the build and by html.ts). */
export const CLIENT_FUNCTION_NAMES = [
  'buildFlameTree', 'layoutFlame', 'diffColor', 'frameCategory', 'frameColor', 'frameLabel', 'searchFlame', 'fitLabel', 'formatBytes', 'formatCount', 'reportMain',
] as const;
