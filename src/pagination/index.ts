// The pagination family: one style per module, each with its end and loop checks.
export { afterCursor, type AfterCursorOptions } from './after-cursor.js';
export { atPath, describe } from './body.js';
export { coveredInstants, headerCursorWindows, type HeaderCursorWindowsOptions } from './header-cursor-windows.js';
export { nextLink, type NextLinkOptions } from './next-link.js';
export { offsetPages, type OffsetOptions } from './offset.js';
export { pageNumber, type PageNumberOptions } from './page-number.js';
export { pageTotal, type PageTotalOptions } from './page-total.js';
export { singlePage, type SinglePageOptions } from './single-page.js';
export { staticList } from './static-list.js';
export * from './types.js';
export { describeRequest, requestHash, requestKey } from './request-key.js';
