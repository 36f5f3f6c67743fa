/** The engine inside a Web Worker: owns the WebGPU device; the page talks to it through comlink. */
import * as Comlink from 'comlink';
import { IndexedDbChoiceStore } from '../gpu/choice-store-browser';
import { Gpu } from '../gpu/runtime';
import { Engine } from './engine';
import { listFolders, loadFolder, opfsRunDir, SAVED_RUN_DIR, saveFolder } from './opfs';

Comlink.expose(
  new Engine(() => Gpu.create(self.navigator.gpu, 'this browser'), new IndexedDbChoiceStore(), {
    save: saveFolder,
    load: loadFolder,
    list: listFolders,
  }, undefined, undefined, opfsRunDir(SAVED_RUN_DIR)),
);
