import { describe, expect, it } from 'vitest';
import { parseSession } from '../../src/adapters/graph/parse';

describe('parsing upload sessions of every era', () => {
  it('reads the original 2025 beta shape (Pascal status, expirationDateTime, files without id, old data names)', () => {
    const s = parseSession({
      id: '2c8f5d16-a4e9-4b07-8d31-95b6e0f7c4a2',
      status: 'Active',
      isUploadDone: false,
      stats: { filesUploaded: 1, totalBytesUploaded: 248 },
      files: [{ name: 'a.csv', size: 248, uploadedDateTime: '2025-11-03T09:15:00Z' }],
      createdDateTime: '2025-11-03T09:15:00.000Z',
      expirationDateTime: '2025-11-04T09:15:00.000Z',
      data: { accessReviewId: 'def', accessReviewInstanceId: 'inst' },
    });
    expect(s).toEqual({
      id: '2c8f5d16-a4e9-4b07-8d31-95b6e0f7c4a2',
      reviewInstanceId: 'inst',
      reviewDefinitionId: 'def',
      status: 'active',
      isUploadDone: false,
      createdDateTime: '2025-11-03T09:15:00.000Z',
      files: [{ name: 'a.csv', size: 248, uploadedDateTime: '2025-11-03T09:15:00Z' }],
      stats: { filesUploaded: 1, totalBytesUploaded: 248 },
    });
  });

  it('reads the v1.0 shape (referenceId, file ids, Int64 sizes as strings) and keeps "files absent" distinct from empty', () => {
    const s = parseSession({
      '@odata.type': '#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession',
      id: 's1',
      referenceId: 'inst',
      status: 'complete',
      isUploadDone: true,
      data: { reviewDefinitionId: 'def', reviewInstanceId: 'inst' },
      files: [{ id: 'f1', name: 'a.csv', size: '5000000000' }],
    });
    expect(s.status).toBe('complete');
    expect(s.files).toEqual([{ id: 'f1', name: 'a.csv', size: 5_000_000_000 }]);
    expect(parseSession({ id: 's2', status: 'Complete' }).files).toBeUndefined();
    expect(parseSession({ id: 's3', status: 'paused' }).status).toBe('unknown');
  });

  it('refuses a response without an id', () => {
    expect(() => parseSession({ status: 'active' })).toThrow(/no id/);
  });
});
