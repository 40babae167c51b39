// The nodes over HTTP (http/): the CB's and the FIs' routes, the apps that mount them, the servers
// that run them, the loopback rule of plain HTTP, and the OpenAPI document every app serves.
// What other parts may use; inside src/ledger files import by path.

export {
  OPENAPI_TITLES, createCbApp, createEmbeddedApp, createFiApp, createHolderApp, createOfflineEmbeddedApp, createOfflineFiApp, holderTitle,
  type AppOptions, type OfflineAppOptions,
} from './apps.ts';
export { cbOfflineRoutes, cbRoutes } from './cb_routes.ts';
export { fiOfflineRoutes, fiRoutes } from './fi_routes.ts';
export { cbWarrantClient, holderRoutes, type CbWarrantPort } from './holder_routes.ts';
export { warrantRoutes } from './warrant_routes.ts';
export { rules } from './rules.ts';
export { none } from './schema.ts';
export {
  serveHolder, serveNode, serveOfflineFi, serveOfflineNetwork, type HolderNodeConfig, type ListenOptions, type NodeRole, type OfflineFiConfig,
  type RunningNode, type RunningOfflineNetwork, type ServeOptions,
} from './serve.ts';
export { ListenAddressError, isLoopbackHost, requireLoopbackListen } from './listen_address.ts';
export { OPENAPI_PATH, addOpenApiRoute, openApiDocument } from './openapi.ts';
