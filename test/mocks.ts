/** The mocks live with the offline runner (tools/offline); tests import them from here. */
export * from "../tools/offline/mocks";
