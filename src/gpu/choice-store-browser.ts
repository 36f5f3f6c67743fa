/** Kernel choices remembered in IndexedDB (browser page or worker; workers have no localStorage). */
import type { ChoiceStore, KernelChoice } from './autotune';

const DB = 'exprl-lab';
const STORE = 'kernel-choices';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
  });
}

export class IndexedDbChoiceStore implements ChoiceStore {
  async get(key: string): Promise<KernelChoice | undefined> {
    const db = await open();
    return new Promise((resolve, reject) => {
      const req = db.transaction(STORE, 'readonly').objectStore(STORE).get(key);
      req.onsuccess = () => resolve(req.result as KernelChoice | undefined);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB read failed'));
    });
  }

  async set(key: string, value: KernelChoice): Promise<void> {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
    });
  }
}
