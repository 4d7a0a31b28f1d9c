import { createRequire } from 'node:module';

/**
 * libjpeg-turbo through @julusian/jpeg-turbo (a prebuilt binding with its own libturbojpeg): the jpeg
 * codec decodes records with it, and conversion decodes plain JPEG inputs with it (see decodeImage).
 */
export const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as typeof import('@julusian/jpeg-turbo');
